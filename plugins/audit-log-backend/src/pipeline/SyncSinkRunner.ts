import type {
  AuditSinkEntry,
  AuditSinkStats,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import { SinkCounters } from './SinkCounters';
import { DELIVERED, NOT_DELIVERED, SinkRunner } from './SinkRunner';

/**
 * `sync`: each record is written inside `emit`, before it returns (stdout's
 * default). Nothing is ever queued, so a crash loses nothing already
 * emitted; each write costs the caller a system call.
 */
export class SyncSinkRunner implements SinkRunner {
  readonly mode = 'sync' as const;
  readonly #transport: AuditSinkTransport;
  readonly #write: (text: string) => void;
  readonly #counters: SinkCounters;
  readonly #report: (error: unknown) => void;

  constructor(
    readonly name: string,
    transport: AuditSinkTransport,
    counters: SinkCounters,
    report: (error: unknown) => void,
  ) {
    this.#transport = transport;
    this.#write = transport.writeSync!.bind(transport);
    this.#counters = counters;
    this.#report = report;
  }

  accept(entry: AuditSinkEntry, wait: boolean): Promise<boolean> | undefined {
    try {
      this.#write(`${entry.line}\n`);
      this.#counters.delivered(1);
      return wait ? DELIVERED : undefined;
    } catch (error) {
      this.#counters.dropped('write-failed', 1);
      this.#report(error);
      return wait ? NOT_DELIVERED : undefined;
    }
  }

  lost(reason: string): void {
    this.#counters.dropped(reason, 1);
  }

  async flush(): Promise<void> {}

  async settle(): Promise<void> {}

  async close(deadline: number): Promise<void> {
    try {
      await this.#transport.close?.({ deadline });
    } catch (error) {
      this.#report(error);
    }
  }

  stats(): AuditSinkStats {
    return this.#counters.stats(0);
  }
}
