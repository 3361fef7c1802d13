import type { AuditFailureLogger } from '@backstage-audit/plugin-audit-log-node';

/**
 * Reports failures of the audit machinery on the backend's logger, at most
 * once per interval with the number of failures since the last report, so a
 * broken sink cannot flood the logs it shares with the backend.
 */
export class FailureReporter {
  readonly #logger?: AuditFailureLogger;
  readonly #intervalMs: number;
  readonly #totals: () => unknown;
  #last = 0;
  #unreported = 0;

  static create(options: {
    logger?: AuditFailureLogger;
    intervalMs?: number;
    totals: () => unknown;
  }): FailureReporter {
    return new FailureReporter(options);
  }

  private constructor(options: {
    logger?: AuditFailureLogger;
    intervalMs?: number;
    totals: () => unknown;
  }) {
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#totals = options.totals;
  }

  report(where: string, error: unknown): void {
    this.#unreported++;
    const now = Date.now();
    if (!this.#logger || now - this.#last < this.#intervalMs) {
      return;
    }
    this.#last = now;
    const count = this.#unreported;
    this.#unreported = 0;
    try {
      this.#logger.error(
        `Audit log: ${count} failure(s) in ${where}, latest: ${String(
          (error as Error)?.message ?? error,
        ).slice(0, 500)}; totals ${JSON.stringify(this.#totals())}`,
      );
    } catch {
      // A throwing logger must not throw into the audited code.
    }
  }
}
