import { metrics, Counter, ObservableGauge } from '@opentelemetry/api';

/** The meter name under which the audit log publishes its instruments. */
export const AUDIT_LOG_METER = 'backstage-audit-log';

/**
 * The audit log's OpenTelemetry instruments, as Backstage's own plugins
 * publish theirs (`@opentelemetry/api` against the global meter provider,
 * which a backend's instrumentation sets up):
 *
 * - `audit_log.records` {outcome: emitted | filtered | failed}
 * - `audit_log.sink.delivered` {sink}
 * - `audit_log.sink.retried` {sink}
 * - `audit_log.sink.dropped` {sink, reason}
 * - `audit_log.sink.queue_depth` {sink} (observed at collection)
 */
export class AuditMetrics {
  readonly #records: Counter;
  readonly #delivered: Counter;
  readonly #retried: Counter;
  readonly #dropped: Counter;
  readonly #queueDepth: ObservableGauge;
  readonly #depths = new Map<string, () => number>();

  static create(): AuditMetrics {
    return new AuditMetrics();
  }

  private constructor() {
    const meter = metrics.getMeter(AUDIT_LOG_METER);
    this.#records = meter.createCounter('audit_log.records', {
      description:
        'Audit records by outcome: emitted to the sinks, filtered out by configuration, or failed to build',
    });
    this.#delivered = meter.createCounter('audit_log.sink.delivered', {
      description: 'Audit records a sink delivered',
    });
    this.#retried = meter.createCounter('audit_log.sink.retried', {
      description: 'Records in deliveries that failed and were retried',
    });
    this.#dropped = meter.createCounter('audit_log.sink.dropped', {
      description: 'Audit records a sink gave up on, by reason',
    });
    this.#queueDepth = meter.createObservableGauge(
      'audit_log.sink.queue_depth',
      {
        description: 'Audit records waiting in a sink queue',
      },
    );
    this.#queueDepth.addCallback(this.#observe);
  }

  readonly #observe = (result: {
    observe(value: number, attributes: Record<string, string>): void;
  }) => {
    for (const [sink, depth] of this.#depths) {
      result.observe(depth(), { sink });
    }
  };

  /** Stops observing this pipeline's queues (it has shut down). */
  close(): void {
    this.#queueDepth.removeCallback(this.#observe);
  }

  record(outcome: 'emitted' | 'filtered' | 'failed'): void {
    this.#records.add(1, { outcome });
  }

  delivered(sink: string, count: number): void {
    this.#delivered.add(count, { sink });
  }

  retried(sink: string, count: number): void {
    this.#retried.add(count, { sink });
  }

  dropped(sink: string, reason: string, count: number): void {
    this.#dropped.add(count, { sink, reason });
  }

  /** Observes a sink's queue depth at every collection. */
  watchQueue(sink: string, depth: () => number): void {
    this.#depths.set(sink, depth);
  }
}
