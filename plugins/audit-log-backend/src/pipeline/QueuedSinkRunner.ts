import type {
  AuditSinkEntry,
  AuditSinkStats,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import type { AuditQueueConfig } from '../config';
import { SinkCounters } from './SinkCounters';
import { NOT_DELIVERED, SinkRunner } from './SinkRunner';

type Waiter = (delivered: boolean) => void;

/** How long close() waits for a last delivery once the deadline has passed. */
const LAST_DELIVERY_GRACE_MS = 500;

/** Waits for `promise`, but not past `deadline` (epoch ms). */
async function raceDeadline(
  promise: Promise<unknown>,
  deadline: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>(resolve => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      timer.unref?.();
    }),
  ]);
  clearTimeout(timer);
}

/**
 * `best-effort`, `blocking` and `strict`: a bounded queue in front of the
 * transport, delivered in batches, one `deliver` at a time, in order. A
 * failed delivery keeps its batch at the head of the queue and is retried
 * with exponential backoff, so nothing accepted is lost while the
 * destination is away; only when the queue holds `maxRecords` (waiting and in
 * delivery) is a new record dropped, and each drop is counted.
 *
 * In `blocking` and `strict` mode a caller may wait for its record: the
 * promise resolves `true` once the record's batch is delivered, `false` when
 * it was dropped or `waitTimeoutMs` passed first (the record stays queued).
 */
export class QueuedSinkRunner implements SinkRunner {
  readonly #transport: AuditSinkTransport;
  readonly #queueConfig: AuditQueueConfig;
  readonly #waitTimeoutMs: number;
  readonly #counters: SinkCounters;
  readonly #report: (error: unknown) => void;
  readonly #waits: boolean;
  #entries: AuditSinkEntry[] = [];
  /** How many entries ever left the head of the queue (delivered or dropped). */
  #left = 0;
  /** Parallel to #entries: who waits for which entry (blocking and strict only). */
  #waiters: Array<Waiter | undefined> = [];
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;
  #retryDelay = 0;
  #closed = false;

  constructor(
    readonly name: string,
    readonly mode: 'best-effort' | 'blocking' | 'strict',
    transport: AuditSinkTransport,
    options: {
      queue: AuditQueueConfig;
      waitTimeoutMs: number;
      counters: SinkCounters;
      report: (error: unknown) => void;
    },
  ) {
    this.#transport = transport;
    this.#queueConfig = options.queue;
    this.#waitTimeoutMs = options.waitTimeoutMs;
    this.#counters = options.counters;
    this.#report = options.report;
    this.#waits = mode !== 'best-effort';
  }

  get depth(): number {
    return this.#entries.length;
  }

  accept(entry: AuditSinkEntry, wait: boolean): Promise<boolean> | undefined {
    if (this.#closed || this.#entries.length >= this.#queueConfig.maxRecords) {
      const reason = this.#closed ? 'shutdown' : 'queue-full';
      this.#counters.dropped(reason, 1);
      this.#report(
        new Error(
          `sink '${this.name}': record ${entry.record.auditId} dropped (${reason})`,
        ),
      );
      return wait && this.#waits ? NOT_DELIVERED : undefined;
    }
    this.#entries.push(entry);
    if (!wait || !this.#waits) {
      this.#waiters.push(undefined);
      this.#schedule(false);
      return undefined;
    }
    const promise = new Promise<boolean>(resolve => {
      const timer = setTimeout(() => resolve(false), this.#waitTimeoutMs);
      timer.unref?.();
      this.#waiters.push(delivered => {
        clearTimeout(timer);
        resolve(delivered);
      });
    });
    // A waiting request must not wait for company.
    this.#schedule(true);
    return promise;
  }

  lost(reason: string): void {
    this.#counters.dropped(reason, 1);
  }

  #schedule(urgent: boolean, delay?: number): void {
    if (this.#running || this.#closed) {
      return;
    }
    const wait =
      delay ??
      (urgent || this.#entries.length >= this.#queueConfig.batchSize
        ? 0
        : this.#queueConfig.flushIntervalMs);
    if (this.#timer) {
      if (wait > 0 || this.#retryDelay > 0) {
        return;
      }
      // Something urgent came in while a partial batch waited: go now.
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
        if (this.#entries.length > 0) {
          this.#schedule(false, this.#retryDelay || undefined);
        }
      });
    }, wait);
    // Never keep the process alive for the queue: shutdown drains explicitly.
    this.#timer.unref?.();
  }

  /** Delivers batches until the queue is empty or a delivery fails. */
  async #drain(): Promise<void> {
    while (this.#entries.length > 0) {
      const batch = this.#entries.slice(0, this.#queueConfig.batchSize);
      const dropsBefore = this.#counters.transportDrops;
      try {
        await this.#transport.deliver(batch);
      } catch (error) {
        // The batch stays at the head of the queue, in order: nothing is lost.
        this.#counters.retried(batch.length);
        this.#retryDelay = Math.min(
          this.#queueConfig.maxRetryDelayMs,
          Math.max(100, this.#retryDelay * 2),
        );
        this.#report(error);
        return;
      }
      this.#entries.splice(0, batch.length);
      this.#left += batch.length;
      const waiters = this.#waiters.splice(0, batch.length);
      // Entries the transport gave up on are counted as dropped, not delivered.
      this.#counters.delivered(
        batch.length - (this.#counters.transportDrops - dropsBefore),
      );
      this.#retryDelay = 0;
      for (const waiter of waiters) {
        waiter?.(true);
      }
    }
  }

  async flush(deadline: number): Promise<void> {
    await this.#deliverUntil(() => this.#entries.length === 0, deadline);
  }

  async settle(deadline: number): Promise<void> {
    const target = this.#left + this.#entries.length;
    await this.#deliverUntil(() => this.#left >= target, deadline);
  }

  async #deliverUntil(done: () => boolean, deadline: number): Promise<void> {
    while (!done() && Date.now() < deadline) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      if (!this.#running) {
        this.#running = this.#drain().finally(() => {
          this.#running = undefined;
        });
      }
      // A delivery that hangs must not hold the caller past its deadline.
      await raceDeadline(this.#running, deadline);
      if (!done() && !this.#running) {
        await raceDeadline(
          new Promise(r => setTimeout(r, this.#retryDelay || 100)),
          deadline,
        );
      }
    }
  }

  async close(deadline: number): Promise<void> {
    await this.flush(deadline);
    this.#closed = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.#running && this.#entries.length > 0) {
      // The deadline passed before this sink's turn (other shutdown work used
      // it up): one last delivery, which a fast destination (a local spool)
      // completes at once.
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
      });
    }
    if (this.#running) {
      // A delivery still in flight: give it a moment, no more.
      await raceDeadline(this.#running, Date.now() + LAST_DELIVERY_GRACE_MS);
    }
    const left = this.#entries.length;
    if (left > 0) {
      this.#counters.dropped('shutdown', left);
      for (const waiter of this.#waiters) {
        waiter?.(false);
      }
      this.#entries = [];
      this.#waiters = [];
      this.#left += left;
    }
    try {
      await this.#transport.close?.({ deadline });
    } catch (error) {
      this.#report(error);
    }
  }

  stats(): AuditSinkStats {
    return this.#counters.stats(this.#entries.length);
  }
}
