import type {
  AuditDeliveryMode,
  AuditSinkEntry,
  AuditSinkStats,
} from '@backstage-audit/plugin-audit-log-node';

/** A resolved promise per outcome: waiting on a sync write allocates nothing. */
export const DELIVERED = Promise.resolve(true);
export const NOT_DELIVERED = Promise.resolve(false);

/**
 * One configured sink at work: its transport behind the delivery mode's
 * queue (or none). Never throws into the pipeline.
 */
export interface SinkRunner {
  readonly name: string;
  readonly mode: AuditDeliveryMode;
  /**
   * Takes an entry. `wait` asks for a promise of its delivery (`blocking`
   * and `strict` sinks honour it; others return undefined).
   */
  accept(entry: AuditSinkEntry, wait: boolean): Promise<boolean> | undefined;
  /** Counts an entry this sink lost before it got it (its format failed). */
  lost(reason: string): void;
  /** Delivers what is queued, for at most until `deadline` (epoch ms). */
  flush(deadline: number): Promise<void>;
  /**
   * Delivers at once what is queued now (not what comes after), for at most
   * until `deadline`: a reader of the destination then sees every record
   * emitted before the call.
   */
  settle(deadline: number): Promise<void>;
  /** Flushes, stops, and closes the transport; what is left is counted as dropped. */
  close(deadline: number): Promise<void>;
  stats(): AuditSinkStats;
}
