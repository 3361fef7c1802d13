import type { AuditSinkStats } from '@backstage-audit/plugin-audit-log-node';
import { AuditMetrics } from './AuditMetrics';

/**
 * What one sink did, counted once and published twice: in `stats()` (the
 * periodic report on the backend's logger) and as OpenTelemetry metrics.
 */
export class SinkCounters {
  readonly #sink: string;
  readonly #metrics: AuditMetrics;
  #delivered = 0;
  #retried = 0;
  readonly #dropped: Record<string, number> = {};
  /** Entries the transport itself gave up on (reported through its context). */
  #transportDrops = 0;

  constructor(sink: string, metrics: AuditMetrics) {
    this.#sink = sink;
    this.#metrics = metrics;
  }

  delivered(count: number): void {
    this.#delivered += count;
    this.#metrics.delivered(this.#sink, count);
  }

  retried(count: number): void {
    this.#retried += count;
    this.#metrics.retried(this.#sink, count);
  }

  dropped(reason: string, count: number): void {
    this.#dropped[reason] = (this.#dropped[reason] ?? 0) + count;
    this.#metrics.dropped(this.#sink, reason, count);
  }

  /** The transport gave up on entries it was handed (the database refused them). */
  transportDropped(reason: string, count: number): void {
    this.#transportDrops += count;
    this.dropped(reason, count);
  }

  /** How many entries the transport has given up on so far. */
  get transportDrops(): number {
    return this.#transportDrops;
  }

  stats(queued: number): AuditSinkStats {
    return {
      delivered: this.#delivered,
      retried: this.#retried,
      dropped: { ...this.#dropped },
      queued,
    };
  }
}
