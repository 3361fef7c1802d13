import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEventInput } from '@backstage-audit/plugin-audit-log-node';
import { testPipeline } from '../__testUtils__/testPipeline';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import { assertValidRecords } from '../../../../test/support/recordSchema';
import { createFileSinkType } from './fileSinkType';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-file-type-'));
  made.push(dir);
  return dir;
}

function event(n: number): AuditEventInput {
  return {
    plugin: 'catalog',
    eventName: 'CatalogEntityFetch',
    stage: 'completion',
    status: 'succeeded',
    actor: { actorId: 'user:default/jane' },
    request: { method: 'GET', url: `/api/catalog/entities?n=${n}` },
    response: { status: 200 },
    meta: { n },
  };
}

/** Every line of the live and rotated (plain) files, oldest first, parsed. */
function records(dir: string): Array<{ meta: { n: number } }> {
  const names = fs.readdirSync(dir).sort();
  // `ls` order puts the live file (the newest) first; it belongs last.
  const ordered = [...names.filter(n => n !== 'audit.log'), 'audit.log'];
  const parsed = ordered.flatMap(name =>
    fs
      .readFileSync(path.join(dir, name), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(l => JSON.parse(l)),
  );
  assertValidRecords(parsed);
  return parsed;
}

/** Files under `dir` this process holds open (Linux). */
function openFiles(dir: string): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap(fd => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return [];
    }
  });
}

describe('type: file through the pipeline', () => {
  it.each(['best-effort', 'sync', 'batched', 'blocking', 'strict'] as const)(
    'delivers every record once, in order, across rotations (delivery %s)',
    async delivery => {
      const dir = tmpDir();
      const { pipeline } = await testPipeline({
        sinkTypes: [createFileSinkType()],
        auditLog: {
          sinks: {
            file: {
              type: 'file',
              delivery,
              path: path.join(dir, 'audit.log'),
              rotate: { maxBytes: 4096 },
            },
          },
        },
      });
      const waited: Promise<boolean>[] = [];
      for (let n = 0; n < 200; n++) {
        if (delivery === 'blocking' || delivery === 'strict') {
          waited.push(pipeline.emitAndWait(event(n)));
        } else {
          pipeline.emit(event(n));
        }
      }
      expect(await Promise.all(waited)).toEqual(waited.map(() => true));
      if (delivery === 'sync') {
        // Written inside emit: on disk before close.
        // eslint-disable-next-line jest/no-conditional-expect -- only sync writes inside emit; the other modes may still be writing
        expect(records(dir)).toHaveLength(200);
      }
      expect(openFiles(dir)).toEqual([path.join(dir, 'audit.log')]);
      await pipeline.close();
      // Closing the pipeline closes the file, whatever the delivery mode.
      expect(openFiles(dir)).toEqual([]);
      const got = records(dir);
      expect(got.map(r => r.meta.n)).toEqual(
        Array.from({ length: 200 }, (_, n) => n),
      );
      expect(fs.readdirSync(dir).length).toBeGreaterThan(5);
      expect(pipeline.stats().sinks.file).toMatchObject({
        delivered: 200,
      });
    },
  );
});

describe('type: file config', () => {
  async function start(block: Record<string, unknown>, extra = {}) {
    return testPipeline({
      sinkTypes: [createFileSinkType()],
      auditLog: { sinks: { file: { type: 'file', ...block }, ...extra } },
    });
  }

  it('accepts the pipeline’s keys beside its own, and resolves a relative path against the working directory', async () => {
    const dir = tmpDir();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const { pipeline } = await start({
        path: 'logs/audit.log',
        rotate: { maxBytes: 1000, maxAgeMinutes: 60, keep: 2 },
        gzip: true,
        format: 'rhdh',
        delivery: 'sync',
        level: 'info',
        queue: { maxRecords: 10 },
        waitTimeoutMs: 1000,
        enabled: true,
      });
      pipeline.emit(event(1));
      await pipeline.close();
    } finally {
      process.chdir(cwd);
    }
    expect(records(path.join(dir, 'logs')).map(r => r.meta.n)).toEqual([1]);
  });

  const dir = tmpDir();
  const at = path.join(dir, 'audit.log');
  fs.writeFileSync(path.join(dir, 'a-file'), '');
  it.each([
    ['no path', {}, 'auditLog.sinks.file.path', /a file sink needs a path/],
    [
      'a number as path',
      { path: 42 },
      'auditLog.sinks.file.path',
      /expected a file path, got 42/,
    ],
    [
      'a blank path',
      { path: ' ' },
      'auditLog.sinks.file.path',
      /expected a file path/,
    ],
    [
      'an unknown key',
      { path: at, rotation: {} },
      'auditLog.sinks.file.rotation',
      /unknown key/,
    ],
    [
      'a misspelt rotate key',
      { path: at, rotate: { maxbytes: 10 } },
      'auditLog.sinks.file.rotate.maxbytes',
      /unknown key/,
    ],
    [
      'rotate as a number',
      { path: at, rotate: 5 },
      'auditLog.sinks.file.rotate',
      /expected an object/,
    ],
    [
      'rotate without a trigger',
      { path: at, rotate: { keep: 3 } },
      'auditLog.sinks.file.rotate',
      /set maxBytes, maxAgeMinutes or both/,
    ],
    [
      'maxBytes 0',
      { path: at, rotate: { maxBytes: 0 } },
      'auditLog.sinks.file.rotate.maxBytes',
      /positive number, got 0/,
    ],
    [
      'a fractional maxBytes',
      { path: at, rotate: { maxBytes: 1.5 } },
      'auditLog.sinks.file.rotate.maxBytes',
      /positive integer, got 1.5/,
    ],
    [
      'maxBytes with a unit',
      { path: at, rotate: { maxBytes: '10MB' } },
      'auditLog.sinks.file.rotate.maxBytes',
      /positive number, got "10MB"/,
    ],
    [
      'a negative maxAgeMinutes',
      { path: at, rotate: { maxAgeMinutes: -1 } },
      'auditLog.sinks.file.rotate.maxAgeMinutes',
      /positive number/,
    ],
    [
      'keep 0',
      { path: at, rotate: { maxBytes: 100, keep: 0 } },
      'auditLog.sinks.file.rotate.keep',
      /positive number, got 0/,
    ],
    [
      'gzip as a string',
      { path: at, rotate: { maxBytes: 100 }, gzip: 'yes' },
      'auditLog.sinks.file.gzip',
      /expected true or false/,
    ],
    [
      'gzip without rotate',
      { path: at, gzip: true },
      'auditLog.sinks.file.gzip',
      /compresses rotated files/,
    ],
    [
      'a path under a file',
      { path: path.join(dir, 'a-file', 'audit.log') },
      'auditLog.sinks.file.path',
      /cannot create the directory/,
    ],
    [
      'a directory as path',
      { path: dir },
      'auditLog.sinks.file.path',
      /cannot open .*EISDIR/,
    ],
  ])('refuses %s at start-up, naming %s', async (_label, block, key, why) => {
    const error = await start(block).then(
      () => undefined,
      e => e as Error,
    );
    expect(error?.message).toMatch(
      new RegExp(`^Invalid config at ${key.replace(/\./g, '\\.')}: `),
    );
    expect(error?.message).toMatch(why);
  });

  it('refuses two sinks on one path', async () => {
    const target = path.join(tmpDir(), 'audit.log');
    await expect(
      start({ path: target }, { second: { type: 'file', path: target } }),
    ).rejects.toThrow(
      /^Invalid config at auditLog\.sinks\.second\.path: '.*audit\.log' is already the path of sink 'file'/,
    );
  });

  it('numeric strings, as environment substitution gives them, are numbers', async () => {
    const dir2 = tmpDir();
    const { pipeline } = await start({
      path: path.join(dir2, 'audit.log'),
      delivery: 'sync',
      rotate: { maxBytes: '400', keep: '2' },
    });
    for (let n = 0; n < 20; n++) {
      pipeline.emit(event(n));
    }
    await pipeline.close();
    // Records are over 200 bytes: many rotations, two rotated files kept.
    expect(fs.readdirSync(dir2)).toHaveLength(3);
  });
});
