import { AuditRecord } from '../record';

/** What a sink reports about itself. @public */
export interface AuditSinkStats {
  /** Records handed to the destination. */
  written: number;
  /** Records the destination refused or failed to take. */
  failed: number;
  /** Records given up on (e.g. a bounded queue overflowed). */
  dropped: number;
  /** Records waiting to be written. */
  queued: number;
}

/**
 * A destination for records. `write` runs on the request path: it must
 * neither block nor throw, and it must count anything it cannot deliver.
 *
 * @public
 */
export interface AuditSink {
  readonly name: string;
  /** `line` is the record serialized once, as one JSON line without newline. */
  write(record: AuditRecord, line: string): void;
  /** Resolves when every accepted record has been delivered or given up on. */
  flush?(): Promise<void>;
  stats(): AuditSinkStats;
}
