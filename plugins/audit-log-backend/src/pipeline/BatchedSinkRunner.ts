import type {
  AuditSinkEntry,
  AuditSinkStats,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import { SinkCounters } from './SinkCounters';
import { SinkRunner } from './SinkRunner';

/**
 * `batched`: the records of one event-loop turn are written together, with
 * one system call, at the end of the turn (`setImmediate`). The buffer is
 * written synchronously when the process exits (also after an uncaught
 * exception) and on SIGTERM. Crash window: the records of the current turn
 * are lost only if the process dies without exiting (SIGKILL, a native
 * crash, an abort).
 */
export class BatchedSinkRunner implements SinkRunner {
  readonly mode = 'batched' as const;
  readonly #transport: AuditSinkTransport;
  readonly #write: (text: string) => void;
  readonly #counters: SinkCounters;
  readonly #report: (error: unknown) => void;
  #buffer: string[] = [];
  #scheduled = false;
  readonly #onExit = () => this.#flushSync();
  readonly #onSigterm = () => {
    this.#flushSync();
    // Alone, this listener would stop SIGTERM from ending the process (in a
    // Backstage backend the backend's own handler ends it): restore the
    // default and signal again.
    if (process.listenerCount('SIGTERM') === 1) {
      process.off('SIGTERM', this.#onSigterm);
      process.kill(process.pid, 'SIGTERM');
    }
  };

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
    process.on('exit', this.#onExit);
    process.on('SIGTERM', this.#onSigterm);
  }

  accept(entry: AuditSinkEntry): undefined {
    this.#buffer.push(entry.line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onExit);
    }
    return undefined;
  }

  #flushSync(): void {
    this.#scheduled = false;
    const lines = this.#buffer;
    if (lines.length === 0) {
      return;
    }
    this.#buffer = [];
    try {
      this.#write(`${lines.join('\n')}\n`);
      this.#counters.delivered(lines.length);
    } catch (error) {
      this.#counters.dropped('write-failed', lines.length);
      this.#report(error);
    }
  }

  lost(reason: string): void {
    this.#counters.dropped(reason, 1);
  }

  async flush(): Promise<void> {
    this.#flushSync();
  }

  async settle(): Promise<void> {
    this.#flushSync();
  }

  async close(deadline: number): Promise<void> {
    this.#flushSync();
    process.off('exit', this.#onExit);
    process.off('SIGTERM', this.#onSigterm);
    try {
      await this.#transport.close?.({ deadline });
    } catch (error) {
      this.#report(error);
    }
  }

  stats(): AuditSinkStats {
    return this.#counters.stats(this.#buffer.length);
  }
}
