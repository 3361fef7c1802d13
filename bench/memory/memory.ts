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
import { ConfigReader } from '@backstage/config';
import {
  DefaultAuditLogService,
  Redactor,
  WinstonStreamSink,
} from '@backstage-audit/plugin-audit-log-node';
import {
  AuditStore,
  readAuditLogConfig,
  StoreSink,
} from '@backstage-audit/plugin-audit-log-backend';
import { failChild, sendResult } from '../lib/child';
import { SyncFileStream } from '../lib/SyncFileStream';
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
  const config = readAuditLogConfig(
    new ConfigReader(
      maxQueueArg
        ? {
            auditLog: {
              store: { maxQueue: Number(maxQueueArg.split('=')[1]) },
            },
          }
        : {},
    ),
  );
  const stalled: AuditStore = {
    insert: () => new Promise<void>(() => {}),
    ping: async () => {},
    query: async () => ({ items: [] }),
    get: async () => undefined,
    deleteOlderThan: async () => 0,
  };
  let failureReports = 0;
  const service = DefaultAuditLogService.create({
    redactor: Redactor.create(config.redaction),
    logger: { error: () => void failureReports++ },
    defaultLevel: config.levels.default,
    maxBodyBytes: config.body.maxBytes,
  });
  const devNull = SyncFileStream.open('/dev/null');
  service.addSink(
    WinstonStreamSink.create({
      stream: devNull,
      onError: error => service.reportFailure('stdout', error),
    }),
  );
  const sink = StoreSink.create({
    store: stalled,
    maxQueue: config.store.maxQueue,
    batchSize: config.store.batchSize,
    flushIntervalMs: config.store.flushIntervalMs,
    onError: error => service.reportFailure('store', error),
  });
  service.addSink(sink);

  // Warm up the same code on a throwaway pipeline, so JIT code is not counted.
  const warm = DefaultAuditLogService.create({
    redactor: Redactor.create(),
    sinks: [],
  });
  for (let i = 0; i < 20_000; i++) {
    warm.emit(event());
  }
  let lineBytes = 0;
  service.addSink({
    name: 'measure',
    write: (_r, line) => void (lineBytes = Buffer.byteLength(line)),
    stats: () => ({ written: 0, failed: 0, dropped: 0, queued: 0 }),
  });
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
  const stats = sink.stats();
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
    dropped: stats.dropped,
    written: stats.written,
    stdoutWritten: stdout.written,
    burstSeconds,
    failureReports,
  };
  fs.closeSync(devNull.fd);
  await sendResult(result);
  // The stalled insert and the writer's timer must not keep us alive.
  process.exit(0);
}

main().catch(failChild);
