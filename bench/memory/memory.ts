/**
 * Memory under a stalled store (child process of run.ts, --expose-gc):
 * a burst of records while the store's insert never resolves, through the
 * pipeline as auditLogServiceFactory and the audit-log plugin build it
 * (stdout sink to /dev/null, StoreSink with the configured bound). Then a
 * second burst, to show the bound holds: what the first left in memory does
 * not grow.
 *
 * argv: [--max-queue=N] (default: auditLog.store.maxQueue's default)
 */
import fs from 'node:fs';
import type { LoggerService } from '@backstage/backend-plugin-api';
import type { AuditStore } from '../../plugins/audit-log-backend/src/database/AuditStore';
import { failChild, sendResult } from '../lib/child';
import { benchPipeline, silentLogger } from '../lib/pipeline';
import { LineCollector, SyncFileStream } from '../lib/SyncFileStream';
import { fixtureCompletionEvent as event } from '../micro/fixture';

export interface MemoryResult {
  burst: number;
  maxQueue: number;
  lineBytes: number;
  baseline: { heapUsed: number; rss: number };
  peak: { heapUsed: number; rss: number };
  /** Heap in use after the burst and a full GC, minus the baseline. */
  heapGrowth: number;
  /** Same after a second burst of the same size. */
  heapGrowthAfterSecondBurst: number;
  rssGrowth: number;
  heapGrowthPerQueuedRecord: number;
  queued: number;
  dropped: number;
  written: number;
  stdoutWritten: number;
  burstSeconds: number;
  /** Failure reports the pipeline wrote to the backend's logger (rate limited). */
  failureReports: number;
}

const BURST = 100_000;
const maxQueueArg = process.argv.find(a => a.startsWith('--max-queue='));

const gc = (globalThis as { gc?: () => void }).gc;
const tick = () => new Promise<void>(resolve => setImmediate(resolve));

async function main(): Promise<void> {
  if (!gc) {
    throw new Error('run with --expose-gc');
  }
  const maxQueue = maxQueueArg ? Number(maxQueueArg.split('=')[1]) : undefined;
  const auditLog = maxQueue ? { store: { maxQueue } } : {};
  const stalled: AuditStore = {
    insert: () => new Promise<void>(() => {}),
    ping: async () => {},
    query: async () => ({ items: [] }),
    get: async () => undefined,
    deleteOlderThan: async () => 0,
  };
  let failureReports = 0;
  const logger: LoggerService = {
    ...silentLogger,
    error: () => void failureReports++,
    warn: () => void failureReports++,
    child: () => logger,
  };
  const devNull = SyncFileStream.open('/dev/null');
  const { pipeline: service, config } = await benchPipeline({
    auditLog,
    stdout: devNull,
    store: stalled,
    logger,
  });

  // Warm up the same code on a throwaway pipeline, so JIT code is not counted.
  const { pipeline: warm } = await benchPipeline({
    stdout: SyncFileStream.open('/dev/null'),
  });
  for (let i = 0; i < 20_000; i++) {
    warm.emit(event());
  }
  const sample = new LineCollector();
  (await benchPipeline({ stdout: sample })).pipeline.emit(event());
  const lineBytes = Buffer.byteLength(sample.lines[0]);
  await tick();
  gc!();
  gc!();
  const base = process.memoryUsage();
  const peak = { heapUsed: base.heapUsed, rss: base.rss };

  async function burst(): Promise<number> {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BURST; i += 1000) {
      for (let j = 0; j < 1000; j++) {
        service.emit(event());
      }
      // Requests arrive over event-loop turns: the writer's timer gets to run.
      await tick();
      const m = process.memoryUsage();
      peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
      peak.rss = Math.max(peak.rss, m.rss);
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  }

  const burstSeconds = await burst();
  await new Promise(resolve =>
    setTimeout(resolve, config.store.flushIntervalMs * 2),
  );
  gc!();
  gc!();
  const after = process.memoryUsage();
  const stats = service.stats().sinks.store;
  await burst();
  gc!();
  gc!();
  const afterSecond = process.memoryUsage();
  const stdout = service.stats().sinks.stdout;

  const result: MemoryResult = {
    burst: BURST,
    maxQueue: config.store.maxQueue,
    lineBytes,
    baseline: { heapUsed: base.heapUsed, rss: base.rss },
    peak,
    heapGrowth: after.heapUsed - base.heapUsed,
    heapGrowthAfterSecondBurst: afterSecond.heapUsed - base.heapUsed,
    rssGrowth: after.rss - base.rss,
    heapGrowthPerQueuedRecord:
      (after.heapUsed - base.heapUsed) / Math.max(1, stats.queued),
    queued: stats.queued,
    dropped: Object.values(stats.dropped).reduce((a, b) => a + b, 0),
    written: stats.delivered,
    stdoutWritten: stdout.delivered,
    burstSeconds,
    failureReports,
  };
  fs.closeSync(devNull.fd);
  await sendResult(result);
  // The stalled insert and the writer's timer must not keep us alive.
  process.exit(0);
}

main().catch(failChild);
