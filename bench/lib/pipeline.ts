/**
 * The audit pipeline as the backend builds it (AuditPipeline.create with the
 * built-in `rhdh` format), for the suites that run it in-process. Internals
 * are imported by source path: the benchmark measures the code, not the
 * packages' public surface.
 */
import type { Writable } from 'node:stream';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import type { AuditSinkType } from '../../plugins/audit-log-node/src';
import {
  AuditQueueConfig,
  readAuditLogConfig,
} from '../../plugins/audit-log-backend/src/config';
import { AuditActorResolver } from '../../plugins/audit-log-backend/src/capture/AuditActorResolver';
import { AuditRequestRegistry } from '../../plugins/audit-log-backend/src/capture/AuditRequestRegistry';
import type { AuditStore } from '../../plugins/audit-log-backend/src/database/AuditStore';
import { StoreBinding } from '../../plugins/audit-log-backend/src/database/StoreBinding';
import { rhdhFormat } from '../../plugins/audit-log-backend/src/formats/rhdhFormat';
import { AuditMetrics } from '../../plugins/audit-log-backend/src/pipeline/AuditMetrics';
import { AuditPipeline } from '../../plugins/audit-log-backend/src/pipeline/AuditPipeline';
import { QueuedSinkRunner } from '../../plugins/audit-log-backend/src/pipeline/QueuedSinkRunner';
import { SinkCounters } from '../../plugins/audit-log-backend/src/pipeline/SinkCounters';
import { createStoreSinkType } from '../../plugins/audit-log-backend/src/sinks/storeSinkType';
import { StdoutTransport } from '../../plugins/audit-log-backend/src/sinks/StdoutTransport';
import { StoreTransport } from '../../plugins/audit-log-backend/src/sinks/StoreTransport';

export const silentLogger: LoggerService = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child: () => silentLogger,
};

export interface BenchPipeline {
  pipeline: AuditPipeline;
  config: ReturnType<typeof readAuditLogConfig>;
  requests: AuditRequestRegistry;
  actors: AuditActorResolver;
}

/**
 * Builds the pipeline from `auditLog` config. The `stdout` sink type writes
 * to `stdout` (a stream the caller chooses); the `store` sink type delivers
 * to `store`. Leave either out and that sink must be disabled in `auditLog`.
 */
export async function benchPipeline(options: {
  auditLog?: Record<string, unknown>;
  stdout?: Writable;
  store?: AuditStore;
  logger?: LoggerService;
}): Promise<BenchPipeline> {
  const config = readAuditLogConfig(
    new ConfigReader({
      auditLog: {
        ...(options.stdout ? {} : { stdout: { enabled: false } }),
        ...(options.store ? {} : { store: { enabled: false } }),
        ...options.auditLog,
      },
    }),
  );
  const sinkTypes: AuditSinkType[] = [];
  if (options.stdout) {
    const stream = options.stdout;
    sinkTypes.push({
      type: 'stdout',
      deliveryModes: ['sync', 'batched', 'best-effort', 'blocking', 'strict'],
      create: () => StdoutTransport.create({ stream }),
    });
  }
  if (options.store) {
    const binding = StoreBinding.create();
    binding.bind(options.store);
    sinkTypes.push(createStoreSinkType(binding));
  }
  const requests = AuditRequestRegistry.create();
  const actors = AuditActorResolver.create({ trustProxy: config.trustProxy });
  const pipeline = await AuditPipeline.create({
    config,
    formats: [rhdhFormat],
    sinkTypes,
    requests,
    actors,
    logger: options.logger ?? silentLogger,
  });
  return { pipeline, config, requests, actors };
}

/**
 * The `store` sink's runner and transport as the pipeline builds them
 * (best-effort queue with the configured bounds), fed prebuilt entries
 * directly: what the store side costs without building records.
 */
export function storeSinkRunner(options: {
  store: AuditStore;
  auditLog?: Record<string, unknown>;
  onError?: (error: unknown) => void;
}): { runner: QueuedSinkRunner; queue: AuditQueueConfig } {
  const config = readAuditLogConfig(
    new ConfigReader({
      auditLog: { stdout: { enabled: false }, ...options.auditLog },
    }),
  );
  const sink = config.sinks.find(s => s.name === 'store');
  if (!sink) {
    throw new Error('the store sink is disabled');
  }
  const binding = StoreBinding.create();
  binding.bind(options.store);
  const report = options.onError ?? (() => {});
  const counters = new SinkCounters('store', AuditMetrics.create());
  const transport = StoreTransport.create({
    binding,
    context: {
      name: 'store',
      config: sink.config,
      configKey: sink.configKey,
      logger: silentLogger,
      dropped: (count, reason, error) => {
        counters.transportDropped(reason, count);
        if (error !== undefined) {
          report(error);
        }
      },
    },
  });
  const runner = new QueuedSinkRunner('store', 'best-effort', transport, {
    queue: sink.queue,
    waitTimeoutMs: sink.waitTimeoutMs,
    counters,
    report,
  });
  return { runner, queue: sink.queue };
}
