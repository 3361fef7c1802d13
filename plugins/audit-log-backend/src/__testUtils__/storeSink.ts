import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import type { AuditStore } from '../database/AuditStore';
import { StoreBinding } from '../database/StoreBinding';
import { AuditMetrics } from '../pipeline/AuditMetrics';
import { QueuedSinkRunner } from '../pipeline/QueuedSinkRunner';
import { SinkCounters } from '../pipeline/SinkCounters';
import { StoreTransport } from '../sinks/StoreTransport';

/**
 * The `store` sink as the pipeline runs it (a best-effort queue in front of
 * the store transport), on a given store, for store tests.
 */
export function storeSink(
  store: AuditStore,
  queue: Partial<{
    maxRecords: number;
    batchSize: number;
    flushIntervalMs: number;
    maxRetryDelayMs: number;
  }> = {},
) {
  const errors: Error[] = [];
  const binding = StoreBinding.create();
  binding.bind(store);
  const counters = new SinkCounters('store', AuditMetrics.create());
  const transport = StoreTransport.create({
    binding,
    context: {
      name: 'store',
      config: new ConfigReader({ type: 'store' }),
      configKey: 'auditLog.store',
      logger: mockServices.logger.mock(),
      dropped(count, reason, error) {
        counters.transportDropped(reason, count);
        if (error) errors.push(error as Error);
      },
    },
  });
  const runner = new QueuedSinkRunner('store', 'best-effort', transport, {
    queue: {
      maxRecords: 50000,
      batchSize: 500,
      flushIntervalMs: 50,
      maxRetryDelayMs: 10_000,
      ...queue,
    },
    waitTimeoutMs: 5000,
    counters,
    report: error => errors.push(error as Error),
  });
  return {
    errors,
    write(record: AuditRecord) {
      runner.accept({ record, line: JSON.stringify(record) }, false);
    },
    flush: (ms = 15_000) => runner.flush(Date.now() + ms),
    close: (ms = 15_000) => runner.close(Date.now() + ms),
    stats: () => runner.stats(),
  };
}
