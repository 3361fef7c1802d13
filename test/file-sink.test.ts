/**
 * The file sink on the real example backend (`npm start`, real guest
 * sign-in): 3,000 requests, 20 in flight, into three file sinks with a small
 * `maxBytes`, so each rotates some 200 times under load:
 *
 * - `queued`: the default delivery (`best-effort`), gzip on;
 * - `sync`: written inside each emit, no gzip;
 * - `batched`: one write per event-loop turn, gzip on.
 *
 * Afterwards every record of those requests is in each sink's files exactly
 * once (live and rotated, gunzipped), every line parses and matches the
 * record schema, each auditId has its initiation and completion, the files'
 * `ls` order is the records' order, and no rotated file exceeds `maxBytes`.
 * Then the backend restarts on the same paths with `keep: 5`: the older
 * rotated files of the first run are deleted at start-up, the newest five
 * and the live file stay, and plain leftovers are compressed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  ExampleBackend,
  startExampleBackend,
  waitForExampleEntity,
} from './support/exampleBackend';
import { assertValidRecords } from './support/recordSchema';

const REQUESTS = 3000;
const IN_FLIGHT = 20;
const MAX_BYTES = 16 * 1024;
const KEEP_AFTER_RESTART = 5;

const SINKS = {
  queued: { gzip: true, delivery: undefined },
  sync: { gzip: false, delivery: 'sync' },
  batched: { gzip: true, delivery: 'batched' },
} as const;
type SinkName = keyof typeof SINKS;

const ROTATED =
  /^audit\.log\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-\d{6}(\.gz)?$/;

function sinkConfig(root: string, keep: number): string {
  let yaml = 'auditLog:\n  stdout:\n    enabled: false\n  sinks:\n';
  for (const [name, sink] of Object.entries(SINKS)) {
    yaml += `    ${name}:\n      type: file\n      path: ${path.join(root, name, 'audit.log')}\n`;
    yaml += `      rotate:\n        maxBytes: ${MAX_BYTES}\n        keep: ${keep}\n`;
    yaml += `      gzip: ${sink.gzip}\n`;
    if (sink.delivery) {
      yaml += `      delivery: ${sink.delivery}\n`;
    }
  }
  return yaml;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface SinkFiles {
  /** Every file name in the directory. */
  names: string[];
  /** Rotated files in `ls` order (byte order of names). */
  rotated: string[];
  /** Per file, in order (rotated, then the live file): its uncompressed size and lines. */
  files: Array<{ name: string; bytes: number; lines: string[] }>;
}

/**
 * The sink's files. While the backend runs, its keeper compresses and prunes
 * rotated files in the background: a file listed may be gone (compressed)
 * when read, so the listing is taken again.
 */
function readSink(dir: string): SinkFiles {
  for (let attempt = 0; ; attempt++) {
    try {
      return readSinkOnce(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 50) {
        throw error;
      }
    }
  }
}

function readSinkOnce(dir: string): SinkFiles {
  const names = fs.readdirSync(dir).sort(byName);
  const rotated = names.filter(n => ROTATED.test(n));
  const files = [...rotated, 'audit.log'].map(name => {
    const raw = fs.readFileSync(path.join(dir, name));
    const text = (name.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString(
      'utf8',
    );
    if (text.length > 0 && !text.endsWith('\n')) {
      throw new Error(`${dir}/${name} does not end with a line break`);
    }
    return {
      name,
      bytes: Buffer.byteLength(text),
      lines: text.length ? text.slice(0, -1).split('\n') : [],
    };
  });
  return { names, rotated, files };
}

describe('file sink on the example backend', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-file-e2e-'));
  let backend: ExampleBackend | undefined;
  const sent: Array<{ auditId: string; status: number }> = [];
  const firstRun = {} as Record<SinkName, SinkFiles>;

  beforeAll(async () => {
    backend = await startExampleBackend({
      extraConfig: sinkConfig(root, 100_000),
    });
    await waitForExampleEntity(backend, 'component:default/payments-api');
    const auth = { Authorization: `Bearer ${backend.token}` };
    // Found, not found, a listing, and a caller without credentials.
    const requests: Array<{ url: string; headers: Record<string, string> }> = [
      {
        url: '/api/catalog/entities/by-name/component/default/payments-api',
        headers: auth,
      },
      {
        url: '/api/catalog/entities/by-name/component/default/no-such-thing',
        headers: auth,
      },
      { url: '/api/catalog/entities?limit=2', headers: auth },
      { url: '/api/catalog/entities?limit=1', headers: {} },
    ];
    let next = 0;
    const base = backend.base;
    const worker = async () => {
      for (;;) {
        const index = next++;
        if (index >= REQUESTS) return;
        const r = requests[index % requests.length];
        const res = await fetch(`${base}${r.url}`, { headers: r.headers });
        await res.arrayBuffer();
        sent.push({
          auditId: res.headers.get('audit-id') ?? '',
          status: res.status,
        });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await backend.stop();
    for (const name of Object.keys(SINKS) as SinkName[]) {
      firstRun[name] = readSink(path.join(root, name));
    }
  }, 300_000);

  afterAll(async () => {
    await backend?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('answered all 3,000 requests, each with an audit id', () => {
    expect(sent).toHaveLength(REQUESTS);
    expect(sent.filter(s => !s.auditId)).toEqual([]);
    expect(new Set(sent.map(s => s.status))).toEqual(new Set([200, 404, 401]));
  });

  describe.each(Object.keys(SINKS) as SinkName[])('sink %s', name => {
    it('holds every record of those requests exactly once, whole and valid, initiation and completion', () => {
      const { files } = firstRun[name];
      const records = files.flatMap(f =>
        f.lines.map((line, i) => {
          try {
            return JSON.parse(line);
          } catch {
            throw new Error(
              `${name}/${f.name} line ${i + 1} is not JSON: ${line.slice(0, 200)}`,
            );
          }
        }),
      );
      assertValidRecords(records);
      const stages = new Map<string, string[]>();
      for (const r of records) {
        stages.set(r.auditId, [...(stages.get(r.auditId) ?? []), r.stage]);
      }
      const wrong = sent.filter(
        s =>
          JSON.stringify(stages.get(s.auditId)) !==
          JSON.stringify(['initiation', 'completion']),
      );
      expect(
        wrong.slice(0, 5).map(s => `${s.auditId}: ${stages.get(s.auditId)}`),
      ).toEqual([]);
    });

    it('rotated many times, each rotated file within maxBytes, in ls order = the order records were written', () => {
      const { files, rotated, names } = firstRun[name];
      // 6,000 records of some 600 bytes each over 16 KB files: over 200 rotations.
      expect(rotated.length).toBeGreaterThan(100);
      expect(names.filter(n => n.endsWith('.tmp'))).toEqual([]);
      if (!SINKS[name].gzip) {
        expect(rotated.filter(n => n.endsWith('.gz'))).toEqual([]);
      } else {
        // Compressed in the background while the load ran. Shutdown stops
        // the compression; what is still plain, the next start compresses.
        expect(rotated.filter(n => n.endsWith('.gz')).length).toBeGreaterThan(
          0,
        );
      }
      for (const file of files) {
        expect({ file: file.name, within: file.bytes <= MAX_BYTES }).toEqual({
          file: file.name,
          within: true,
        });
      }
      // Timestamps are taken as records are built, in emit order, so the
      // concatenation in ls order must never go back in time.
      const times = files.flatMap(f =>
        f.lines.map(l => Date.parse(JSON.parse(l).timestamp)),
      );
      const backwards = times.filter((t, i) => i > 0 && t < times[i - 1]);
      expect(backwards).toEqual([]);
    });
  });

  describe('after a restart with keep: 5', () => {
    const secondRun = {} as Record<SinkName, SinkFiles>;
    const whileRunning = {} as Record<SinkName, string[]>;

    beforeAll(async () => {
      backend = await startExampleBackend({
        extraConfig: sinkConfig(root, KEEP_AFTER_RESTART),
      });
      for (const name of Object.keys(SINKS) as SinkName[]) {
        whileRunning[name] = readSink(path.join(root, name)).rotated;
      }
      // Let the background compression of the first run's plain leftovers finish.
      for (let i = 0; i < 100; i++) {
        const plain = (Object.keys(SINKS) as SinkName[]).some(
          name =>
            SINKS[name].gzip &&
            readSink(path.join(root, name)).rotated.some(
              n => !n.endsWith('.gz'),
            ),
        );
        if (!plain) break;
        await new Promise(r => setTimeout(r, 100));
      }
      await backend.stop();
      for (const name of Object.keys(SINKS) as SinkName[]) {
        secondRun[name] = readSink(path.join(root, name));
      }
    }, 200_000);

    it.each(Object.keys(SINKS) as SinkName[])(
      'sink %s: pruned to the newest five at start-up, live file kept, leftovers compressed',
      name => {
        const stem = (n: string) => n.replace(/\.gz$/, '');
        // The second run writes records of its own (start-up, shutdown):
        // when the live file was nearly full, they rotate it once more, and
        // keep: 5 then keeps that file and the newest four of the first run.
        const lastBefore = stem(firstRun[name].rotated.at(-1)!);
        const newestKept = (listed: string[]) => {
          const stems = [...new Set(listed.map(stem))];
          const since = stems.filter(n => n > lastBefore);
          expect(since.length).toBeLessThanOrEqual(1);
          expect(stems).toEqual(
            [...firstRun[name].rotated.map(stem), ...since].slice(
              -KEEP_AFTER_RESTART,
            ),
          );
        };
        // Listed while the keeper compresses: a file being compressed shows
        // under both names for a moment (the .gz lands before the plain goes).
        newestKept(whileRunning[name]);
        const after = secondRun[name];
        newestKept(after.rotated);
        const rotatedSince = after.rotated.filter(n => stem(n) > lastBefore);
        if (SINKS[name].gzip) {
          // The first run's leftovers were compressed at this start; a file
          // rotated since may still be plain (shutdown stops compression).
          expect(
            after.rotated.filter(
              n => !n.endsWith('.gz') && stem(n) <= lastBefore,
            ),
          ).toEqual([]);
        }
        // The first run's files that are kept hold what they held, gzipped or not.
        const before = new Map(
          firstRun[name].files.map(f => [stem(f.name), f.lines]),
        );
        const kept = after.files.filter(
          f => f.name !== 'audit.log' && stem(f.name) <= lastBefore,
        );
        expect(kept.length).toBe(KEEP_AFTER_RESTART - rotatedSince.length);
        for (const f of kept) {
          expect(f.lines).toEqual(before.get(stem(f.name)));
        }
        // The live file was appended to, not replaced (and, if it rotated
        // since, the appended file is the one rotated).
        const liveBefore = firstRun[name].files.at(-1)!.lines;
        const appended = rotatedSince.length
          ? after.files.find(f => f.name === rotatedSince[0])!
          : after.files.at(-1)!;
        expect(appended.lines.slice(0, liveBefore.length)).toEqual(liveBefore);
        expect(after.names.filter(n => n.endsWith('.tmp'))).toEqual([]);
      },
    );
  });
});
