import {
  AuditRecord,
  AuditSink,
  AuditSinkStats,
} from '@backstage-audit/plugin-audit-log-node';
import { AuditStore, StoredAuditRecord, toStoredRecord } from './AuditStore';
import { insertIsolating } from './insertIsolating';
import { orderedId } from './orderedId';

/** @public */
export interface StoreSinkOptions {
  store: AuditStore;
  /** Records kept in memory while the database is slow or down. Default 50000. */
  maxQueue?: number;
  /** Rows per insert. Default 500. */
  batchSize?: number;
  /** How long a partial batch may wait for company. Default 50 ms. */
  flushIntervalMs?: number;
  /** Longest wait between two retries of a failing insert. Default 10 s. */
  maxRetryDelayMs?: number;
  /** Called on insert failures and on overflow; the audit log reports them. */
  onError?: (error: Error) => void;
}

/**
 * Writes records to the store in batches, off the request path: `write`
 * only queues. While the database is unavailable the queue holds records and
 * inserts are retried with backoff; only when the bounded queue is full is a
 * record dropped, and every drop is counted and reported.
 *
 * @public
 */
export class StoreSink implements AuditSink {
  readonly name = 'store';
  readonly #store: AuditStore;
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #onError?: (error: Error) => void;
  #queue: StoredAuditRecord[] = [];
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;
  #retryDelay = 0;
  #written = 0;
  #degraded = 0;
  #rejected = 0;
  #dropped = 0;
  #retries = 0;
  #closed = false;

  static create(options: StoreSinkOptions): StoreSink {
    return new StoreSink(options);
  }

  private constructor(options: StoreSinkOptions) {
    this.#store = options.store;
    this.#maxQueue = options.maxQueue ?? 50000;
    this.#batchSize = options.batchSize ?? 500;
    this.#flushIntervalMs = options.flushIntervalMs ?? 50;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.#onError = options.onError;
  }

  write(record: AuditRecord, line: string): void {
    if (this.#queue.length >= this.#maxQueue) {
      this.#dropped++;
      this.#onError?.(
        new Error(
          `store queue full (${this.#maxQueue} records): record ${record.auditId} dropped`,
        ),
      );
      return;
    }
    this.#queue.push(toStoredRecord(orderedId(), record, line));
    this.#schedule();
  }

  #schedule(delay?: number): void {
    if (this.#timer || this.#running || this.#closed) {
      return;
    }
    const wait =
      delay ??
      (this.#queue.length >= this.#batchSize ? 0 : this.#flushIntervalMs);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
        if (this.#queue.length > 0) {
          this.#schedule(this.#retryDelay || undefined);
        }
      });
    }, wait);
    // Never keep the process alive just to write audit rows: shutdown drains explicitly.
    this.#timer.unref?.();
  }

  /** Inserts batches until the queue is empty or an insert fails. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#batchSize);
      try {
        await insertIsolating(this.#store, batch, {
          degraded: (row, error) => {
            this.#degraded++;
            this.#onError?.(
              new Error(
                `store refused record ${row.auditId} (${String(
                  (error as Error)?.message,
                ).slice(0, 200)}); stored in minimal form`,
              ),
            );
          },
          rejected: (row, error) => {
            this.#rejected++;
            this.#onError?.(
              new Error(
                `store refused record ${row.auditId} even in minimal form (${String(
                  (error as Error)?.message,
                ).slice(0, 200)}); not stored`,
              ),
            );
          },
        });
      } catch (error) {
        // The batch stays queued and is retried: a failed attempt loses nothing.
        this.#retries++;
        this.#retryDelay = Math.min(
          this.#maxRetryDelayMs,
          Math.max(100, this.#retryDelay * 2),
        );
        this.#onError?.(error as Error);
        return;
      }
      // Only now leave the queue: a failed batch stays at its head, in order.
      this.#queue.splice(0, batch.length);
      this.#written += batch.length;
      this.#retryDelay = 0;
    }
  }

  /**
   * Waits until everything queued so far is stored, retrying failures, for at
   * most `timeoutMs` (default 15 s). Used on shutdown.
   */
  async flush(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length > 0 && Date.now() < deadline) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      if (this.#running) {
        await this.#running;
        continue;
      }
      this.#running = this.#drain();
      await this.#running;
      this.#running = undefined;
      if (this.#queue.length > 0) {
        await new Promise(r =>
          setTimeout(
            r,
            Math.min(this.#retryDelay || 100, deadline - Date.now()),
          ),
        );
      }
    }
  }

  /** Drains and stops scheduling. */
  async close(timeoutMs?: number): Promise<void> {
    await this.flush(timeoutMs);
    this.#closed = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  stats(): AuditSinkStats & { retries: number; degraded: number } {
    return {
      // Stored in full.
      written: this.#written - this.#degraded - this.#rejected,
      // Refused by the database even in minimal form: not stored.
      failed: this.#rejected,
      dropped: this.#dropped,
      queued: this.#queue.length,
      retries: this.#retries,
      // Refused by the database; a minimal form was stored instead.
      degraded: this.#degraded,
    };
  }
}
