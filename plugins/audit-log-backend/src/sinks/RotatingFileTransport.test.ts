import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { mockServices } from '@backstage/backend-test-utils';
import type { AuditSinkEntry } from '@backstage-audit/plugin-audit-log-node';
import {
  RotatingFileTransport,
  RotatingFileTransportOptions,
} from './RotatingFileTransport';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Real files in a fresh directory per test; nothing is mocked but the logger. */
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-file-sink-'));
  made.push(dir);
  return dir;
}

const ROTATED =
  /^audit\.log\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-\d{6}(\.gz)?$/;

interface FileContent {
  name: string;
  bytes: number;
  lines: string[];
}

/**
 * The rotated files of `<dir>/audit.log` in `ls` order (plain byte order of
 * the names), then the live file, each gunzipped where it is a `.gz`.
 */
function readFiles(dir: string): FileContent[] {
  const names = fs
    .readdirSync(dir)
    .filter(n => ROTATED.test(n))
    .sort();
  if (fs.existsSync(path.join(dir, 'audit.log'))) {
    names.push('audit.log');
  }
  return names.map(name => {
    const raw = fs.readFileSync(path.join(dir, name));
    const data = name.endsWith('.gz') ? zlib.gunzipSync(raw) : raw;
    const text = data.toString('utf8');
    if (text.length > 0) {
      expect({ name, endsWithLineBreak: text.endsWith('\n') }).toEqual({
        name,
        endsWithLineBreak: true,
      });
    }
    return {
      name,
      bytes: data.length,
      lines: text.length ? text.slice(0, -1).split('\n') : [],
    };
  });
}

function allLines(dir: string): string[] {
  return readFiles(dir).flatMap(f => f.lines);
}

function rotatedNames(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter(n => n !== 'audit.log')
    .sort();
}

/** A deterministic line of `length` bytes (JSON, as a format would render). */
function line(n: number, length: number): string {
  const head = `{"n":${n},"pad":"`;
  return `${head}${'x'.repeat(Math.max(0, length - head.length - 2))}"}`;
}

/** Lines of varied lengths (40..399 bytes), always the same. */
function lines(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) =>
    line(from + i, 40 + (((from + i) * 7919) % 360)),
  );
}

function entries(texts: string[]): AuditSinkEntry[] {
  return texts.map(text => ({ line: text }) as AuditSinkEntry);
}

function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Synchronous on purpose: no timer can fire meanwhile.
  }
}

describe('RotatingFileTransport', () => {
  const open: RotatingFileTransport[] = [];
  const logger = mockServices.logger.mock();

  function create(
    dir: string,
    options: Partial<RotatingFileTransportOptions> = {},
  ): RotatingFileTransport {
    const transport = RotatingFileTransport.create({
      path: path.join(dir, 'audit.log'),
      gzip: false,
      configKey: 'auditLog.sinks.file',
      logger,
      ...options,
    });
    open.push(transport);
    return transport;
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map(t => t.close()));
  });

  it('rotates by size only between lines: each file within maxBytes, every line once, in ls order (writeSync)', () => {
    const dir = tmpDir();
    const transport = create(dir, { maxBytes: 1000 });
    const sent = lines(600);
    // Batches of 1 to 12 lines, as the batched mode and sync writers give them.
    for (let i = 0; i < sent.length;) {
      const size = 1 + (i % 12);
      transport.writeSync(
        sent
          .slice(i, i + size)
          .map(l => `${l}\n`)
          .join(''),
      );
      i += size;
    }
    const files = readFiles(dir);
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      expect({ name: file.name, within: file.bytes <= 1000 }).toEqual({
        name: file.name,
        within: true,
      });
    }
    // Nothing lost, nothing twice, nothing cut: the files in name order
    // hold exactly the lines sent, in the order sent.
    expect(allLines(dir)).toEqual(sent);
    // Each rotated file was full: the next line would not have fitted.
    for (let i = 0; i < files.length - 1; i++) {
      const next = Buffer.byteLength(files[i + 1].lines[0]) + 1;
      expect(files[i].bytes + next).toBeGreaterThan(1000);
    }
  });

  it('deliver cuts a batch between files at line breaks and keeps its order', async () => {
    const dir = tmpDir();
    const transport = create(dir, { maxBytes: 2000 });
    const sent = lines(500);
    for (let i = 0; i < sent.length; i += 50) {
      await transport.deliver(entries(sent.slice(i, i + 50)));
    }
    const files = readFiles(dir);
    expect(files.length).toBeGreaterThan(20);
    expect(files.every(f => f.bytes <= 2000)).toBe(true);
    expect(allLines(dir)).toEqual(sent);
  });

  it('gives a line longer than maxBytes a file of its own, whole', () => {
    const dir = tmpDir();
    const transport = create(dir, { maxBytes: 500 });
    const long = line(1, 1500);
    transport.writeSync(`${line(0, 100)}\n${long}\n${line(2, 100)}\n`);
    const files = readFiles(dir);
    expect(files.map(f => f.lines)).toEqual([
      [line(0, 100)],
      [long],
      [line(2, 100)],
    ]);
  });

  it('rotates by age when written to, and by its timer when nothing is written', async () => {
    const dir = tmpDir();
    // 300 ms
    const transport = create(dir, { maxAgeMs: 300 });
    transport.writeSync('{"n":"first"}\n');
    // Blocks the event loop, so only the check on write can see the age.
    busyWait(350);
    transport.writeSync('{"n":"second"}\n');
    expect(readFiles(dir).map(f => f.lines)).toEqual([
      ['{"n":"first"}'],
      ['{"n":"second"}'],
    ]);
    // Nothing more is written: the timer rotates the file once it is old...
    await new Promise(r => setTimeout(r, 500));
    expect(readFiles(dir).map(f => f.lines)).toEqual([
      ['{"n":"first"}'],
      ['{"n":"second"}'],
      [],
    ]);
    // ...and an empty file is never rotated.
    await new Promise(r => setTimeout(r, 500));
    expect(rotatedNames(dir)).toHaveLength(2);
  });

  it('prunes rotated files beyond keep as it rotates, keeping the newest', async () => {
    const dir = tmpDir();
    const transport = create(dir, { maxBytes: 300, keep: 3 });
    const sent = lines(200);
    for (const l of sent) {
      transport.writeSync(`${l}\n`);
    }
    await transport.idle();
    expect(rotatedNames(dir)).toHaveLength(3);
    // The newest three rotations and the live file: a suffix of what was sent.
    const kept = allLines(dir);
    expect(kept.length).toBeGreaterThan(3);
    expect(kept).toEqual(sent.slice(sent.length - kept.length));
  });

  it('honours keep across a restart: a new transport on the same path prunes an earlier run’s files, and only those', async () => {
    const dir = tmpDir();
    const first = create(dir, { maxBytes: 300 });
    const sent = lines(120);
    for (const l of sent) {
      first.writeSync(`${l}\n`);
    }
    await first.close();
    const before = rotatedNames(dir);
    expect(before.length).toBeGreaterThan(10);
    const liveBefore = fs.readFileSync(path.join(dir, 'audit.log'), 'utf8');
    // Files that only look alike are not ours to delete.
    const strangers = [
      'audit.log.bak',
      'audit.log.1',
      'audit.log.2020-01-01',
      'other.log.2020-01-01T00-00-00.000Z-000000',
    ];
    for (const name of strangers) {
      fs.writeFileSync(path.join(dir, name), 'not an audit file\n');
    }

    // A larger maxBytes, so that the next line does not rotate the live file.
    const second = create(dir, { maxBytes: 10_000, keep: 4 });
    // Pruned at start-up, before any record arrives.
    expect(rotatedNames(dir).filter(n => ROTATED.test(n))).toEqual(
      before.slice(-4),
    );
    for (const name of strangers) {
      expect(fs.readFileSync(path.join(dir, name), 'utf8')).toBe(
        'not an audit file\n',
      );
    }
    // The live file is appended to, not replaced.
    second.writeSync(`${line(999, 50)}\n`);
    expect(fs.readFileSync(path.join(dir, 'audit.log'), 'utf8')).toBe(
      `${liveBefore}${line(999, 50)}\n`,
    );
  });

  it('names rotations after every earlier one, even when the clock is behind the directory', () => {
    const dir = tmpDir();
    const future = 'audit.log.2099-12-31T23-59-59.999Z-000000.gz';
    fs.writeFileSync(path.join(dir, future), zlib.gzipSync('{"n":"old"}\n'));
    const transport = create(dir, { maxBytes: 100 });
    for (const l of lines(5)) {
      transport.writeSync(`${l}\n`);
    }
    const names = rotatedNames(dir);
    expect(names[0]).toBe(future);
    expect(names.slice(1).every(n => n > future)).toBe(true);
    expect(names.length).toBeGreaterThan(2);
    expect(allLines(dir)).toEqual(['{"n":"old"}', ...lines(5)]);
  });

  it('gzips rotated files in the background; their content equals the lines', async () => {
    const dir = tmpDir();
    const transport = create(dir, { maxBytes: 4000, gzip: true });
    const sent = lines(400);
    transport.writeSync(sent.map(l => `${l}\n`).join(''));
    // Compression is not done inside the write that rotated.
    expect(rotatedNames(dir).every(n => !n.endsWith('.gz'))).toBe(true);
    await transport.idle();
    const names = rotatedNames(dir);
    expect(names.length).toBeGreaterThan(10);
    expect(names.every(n => ROTATED.test(n) && n.endsWith('.gz'))).toBe(true);
    expect(allLines(dir)).toEqual(sent);
  });

  it('settles what a crash mid-compression left: a partial .gz.tmp is redone, a finished .gz wins, keep counts each rotation once', async () => {
    const dir = tmpDir();
    const at = (name: string) => path.join(dir, name);
    const a = 'audit.log.2020-01-01T00-00-00.000Z-000000';
    const b = 'audit.log.2020-01-01T00-00-00.000Z-000001';
    const c = 'audit.log.2020-01-02T00-00-00.000Z-000000';
    const d = 'audit.log.2020-01-03T00-00-00.000Z-000000';
    // a: compressed earlier.
    fs.writeFileSync(at(`${a}.gz`), zlib.gzipSync('{"n":"a"}\n'));
    // b: killed after the rename to .gz, before the plain file was deleted.
    fs.writeFileSync(at(b), '{"n":"b"}\n');
    fs.writeFileSync(at(`${b}.gz`), zlib.gzipSync('{"n":"b"}\n'));
    // c: killed mid-compression: half a gzip stream.
    fs.writeFileSync(at(c), '{"n":"c"}\n');
    const partial = zlib.gzipSync('{"n":"c"}\n'.repeat(50));
    fs.writeFileSync(at(`${c}.gz.tmp`), partial.subarray(0, 10));
    // d: rotated, never compressed.
    fs.writeFileSync(at(d), '{"n":"d"}\n');

    const transport = create(dir, { maxBytes: 1000, keep: 3, gzip: true });
    // At start-up, synchronously: the stray tmp and b's plain copy are gone,
    // and keep (3) dropped the oldest rotation, a.
    expect(rotatedNames(dir)).toEqual([`${b}.gz`, c, d]);
    await transport.idle();
    expect(rotatedNames(dir)).toEqual([`${b}.gz`, `${c}.gz`, `${d}.gz`]);
    expect(allLines(dir)).toEqual(['{"n":"b"}', '{"n":"c"}', '{"n":"d"}']);
  });

  it('a rotation that fails costs the size limit, never a line, and resumes when it can', () => {
    const dir = tmpDir();
    const warn = mockServices.logger.mock();
    const transport = create(dir, { maxBytes: 500, logger: warn });
    const sent = lines(40);
    const write = (from: number, to: number) => {
      for (const l of sent.slice(from, to)) {
        transport.writeSync(`${l}\n`);
      }
    };
    write(0, 10);
    const rotatedBefore = rotatedNames(dir);
    expect(rotatedBefore.length).toBeGreaterThan(2);
    // An immutable directory refuses renames, even to root; the open file
    // still takes appends.
    const chattr = (flag: string) => {
      const run = spawnSync('chattr', [flag, dir], { encoding: 'utf8' });
      if (run.status !== 0) {
        throw new Error(
          `this test needs chattr on a file system that supports it: ${run.stderr}`,
        );
      }
    };
    chattr('+i');
    try {
      write(10, 30);
      expect(rotatedNames(dir)).toEqual(rotatedBefore);
      expect(fs.statSync(path.join(dir, 'audit.log')).size).toBeGreaterThan(
        500,
      );
    } finally {
      chattr('-i');
    }
    write(30, 40);
    expect(rotatedNames(dir).length).toBeGreaterThan(rotatedBefore.length);
    expect(allLines(dir)).toEqual(sent);
    // Said once, not once per record.
    const warnings = warn.warn.mock.calls.filter(([m]) =>
      String(m).includes('cannot rotate'),
    );
    expect(warnings).toHaveLength(1);
  });

  it('removes an incomplete last line left by a crash, so every line stays whole', () => {
    const dir = tmpDir();
    fs.writeFileSync(
      path.join(dir, 'audit.log'),
      '{"n":1}\n{"n":2}\n{"n":3,"torn":tr\0\0\0',
    );
    const warn = mockServices.logger.mock();
    const transport = create(dir, { logger: warn });
    transport.writeSync('{"n":4}\n');
    expect(fs.readFileSync(path.join(dir, 'audit.log'), 'utf8')).toBe(
      '{"n":1}\n{"n":2}\n{"n":4}\n',
    );
    expect(warn.warn).toHaveBeenCalledWith(
      expect.stringContaining('incomplete last line (19 bytes)'),
    );
  });

  it('fails clearly, naming the key, when the path cannot be used', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'plain-file'), '');
    expect(() =>
      create(dir, { path: path.join(dir, 'plain-file', 'audit.log') }),
    ).toThrow(
      /^Invalid config at auditLog\.sinks\.file\.path: cannot create the directory of '.*plain-file\/audit\.log': .*(EEXIST|ENOTDIR)/,
    );
    fs.mkdirSync(path.join(dir, 'a-directory'));
    expect(() => create(dir, { path: path.join(dir, 'a-directory') })).toThrow(
      /^Invalid config at auditLog\.sinks\.file\.path: cannot open '.*a-directory': EISDIR/,
    );
  });

  it('creates missing directories', () => {
    const dir = tmpDir();
    const transport = create(dir, {
      path: path.join(dir, 'a', 'b', 'audit.log'),
    });
    transport.writeSync('{"n":1}\n');
    expect(fs.readFileSync(path.join(dir, 'a', 'b', 'audit.log'), 'utf8')).toBe(
      '{"n":1}\n',
    );
  });

  it('close() syncs and closes the file; later writes throw', async () => {
    const dir = tmpDir();
    const transport = create(dir);
    await transport.deliver(entries(['{"n":1}']));
    await transport.close();
    expect(fs.readFileSync(path.join(dir, 'audit.log'), 'utf8')).toBe(
      '{"n":1}\n',
    );
    expect(() => transport.writeSync('{"n":2}\n')).toThrow(/closed/);
    await expect(transport.deliver(entries(['{"n":2}']))).rejects.toThrow(
      /closed/,
    );
  });
});

describe('RotatingFileTransport in a separate process', () => {
  const ROOT = path.resolve(__dirname, '../../../..');
  const CHILD = path.join(__dirname, '../__testUtils__/fileSinkChild.ts');

  it('a write that fails part-way (EFBIG) leaves no partial line, and the retried batch writes no line twice', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'audit.log');
    // ulimit -f counts 1024-byte blocks: files may not exceed 8 KB.
    const run = spawnSync(
      'bash',
      [
        '-c',
        `ulimit -f 8 && exec node --import tsx "${CHILD}" efbig "${file}"`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ firstError: 'EFBIG' });
    expect(readFiles(dir).map(f => f.lines)).toEqual([
      ['{"n":"a"}', '{"n":"b"}'],
      ['{"n":"c"}'],
    ]);
  });

  it('a process killed (SIGKILL) while writing and compressing loses no written line and leaves a state the next start settles', async () => {
    let sawCompressionInFlight = false;
    for (let attempt = 0; attempt < 8 && !sawCompressionInFlight; attempt++) {
      const dir = tmpDir();
      const file = path.join(dir, 'audit.log');
      const child = spawn('node', ['--import', 'tsx', CHILD, 'flood', file], {
        cwd: ROOT,
        stdio: 'ignore',
      });
      const exited = new Promise(r => child.on('exit', r));
      // Let it rotate and compress a few times, then kill it outright.
      for (let i = 0; i < 300; i++) {
        await new Promise(r => setTimeout(r, 50));
        if (fs.readdirSync(dir).filter(n => n.endsWith('.gz')).length >= 3) {
          break;
        }
      }
      await new Promise(r => setTimeout(r, 50 + attempt * 37));
      child.kill('SIGKILL');
      await exited;
      sawCompressionInFlight = fs
        .readdirSync(dir)
        .some(n => n.endsWith('.gz.tmp'));

      const next = RotatingFileTransport.create({
        path: file,
        maxBytes: 256 * 1024,
        gzip: true,
        configKey: 'auditLog.sinks.file',
        logger: mockServices.logger.mock(),
      });
      await next.idle();
      await next.close();
      const names = rotatedNames(dir);
      expect(names.length).toBeGreaterThan(3);
      // Every rotation compressed, no half-written gzip left over.
      expect(names.filter(n => !n.endsWith('.gz'))).toEqual([]);
      // Every line whole and each number once, in order, with no gap: a
      // line the killed process wrote is there, whatever it was doing.
      const numbers = allLines(dir).map(
        l => (JSON.parse(l) as { n: number }).n,
      );
      expect(numbers.length).toBeGreaterThan(1000);
      const gaps = numbers.filter((n, i) => n !== i);
      expect(gaps.slice(0, 5)).toEqual([]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Killing it during a compression is a matter of timing; one of eight
    // attempts must have, or this test proves less than its name says.
    expect(sawCompressionInFlight).toBe(true);
  });
});
