/**
 * Where the capture path's microseconds go (diagnostic, not part of
 * `npm run bench`):
 *
 *   node --expose-gc --import tsx bench/micro/breakdown.ts
 *
 * Interleaved in one process, µs per request (two records), medians of 9
 * rounds: the raw pair; the capture harness writing the raw pair (floor);
 * the capture as benchmarked (stdout sink to a file); the same with the
 * sink's stream discarding every line (no write system calls); and the
 * capture with `emit` a no-op (no record built: the capture's own work).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AuditPipeline } from '../../plugins/audit-log-backend/src/pipeline/AuditPipeline';
import { median } from '../lib/stats';
import { buildVariants, captureDriver, ourPipeline, tick } from './variants';
import { failChild } from '../lib/child';

class DiscardStream extends Writable {
  constructor() {
    super({ decodeStrings: false });
  }

  override _write(_chunk: unknown, _encoding: unknown, callback: () => void) {
    callback();
  }
}

const REQUESTS = 20_000;
const ROUNDS = 9;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-breakdown-'));
  try {
    const { variants } = await buildVariants(dir);
    const pick = (key: string) => variants.find(v => v.key === key)!;
    const discarding = await ourPipeline(new DiscardStream());
    const noEmit = await ourPipeline(new DiscardStream());
    // The capture's view of the pipeline, with emit a no-op.
    const withoutRecords = {
      isEventEnabled: (name: string) => noEmit.pipeline.isEventEnabled(name),
      emit: () => {},
      emitAndWait: async () => true,
      reportFailure: (what: string, error: unknown) =>
        noEmit.pipeline.reportFailure(what, error),
      waits: noEmit.pipeline.waits,
    } as unknown as AuditPipeline;
    const captureDiscarding = captureDriver(discarding);
    const captureNoRecords = captureDriver({
      ...noEmit,
      pipeline: withoutRecords,
    });
    const rows: Array<[string, () => Promise<void> | void]> = [
      [
        'raw pair (2 x stringify + writeSync)',
        () => pick('rawPair').run(REQUESTS),
      ],
      [
        'floor: capture harness + raw pair',
        () => pick('floorCapture').run(REQUESTS),
      ],
      [
        'ours: capture, stdout sink to a file',
        () => pick('oursCapture').run(REQUESTS),
      ],
      [
        'ours: capture, stdout sink discarding',
        async () => {
          for (let i = 0; i < REQUESTS; i++) await captureDiscarding();
        },
      ],
      [
        'ours: capture, emit a no-op (no records)',
        async () => {
          for (let i = 0; i < REQUESTS; i++) await captureNoRecords();
        },
      ],
    ];
    const times = new Map<string, number[]>(rows.map(([k]) => [k, []]));
    for (let round = -1; round < ROUNDS; round++) {
      for (let i = 0; i < rows.length; i++) {
        const [key, run] = rows[(i + Math.max(0, round)) % rows.length];
        const start = process.hrtime.bigint();
        await run();
        await tick();
        const us = Number(process.hrtime.bigint() - start) / 1e3 / REQUESTS;
        if (round >= 0) times.get(key)!.push(us); // round -1 warms up
      }
      for (const f of fs.readdirSync(dir))
        fs.truncateSync(path.join(dir, f), 0);
    }
    for (const [key] of rows) {
      process.stdout.write(
        `${key.padEnd(44)} ${median(times.get(key)!).toFixed(2).padStart(7)} µs/request\n`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Exit explicitly: the variants' stores and timers would keep the process alive.
main().then(() => process.exit(0), failChild);
