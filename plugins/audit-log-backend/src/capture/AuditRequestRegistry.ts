import type { AuditRequestContext } from '@backstage-audit/plugin-audit-log-node';
import type { Request } from 'express';

/**
 * The HTTP requests the capture is recording, so that the plugin's own
 * auditor events and the scaffolder module can find a request's audit
 * context (`AuditLogService.requestContext`). Keyed weakly by the request:
 * nothing outlives it. It also counts the requests whose completion record
 * is still to come, so that shutdown closes the sinks only after them.
 */
export class AuditRequestRegistry {
  readonly #contexts = new WeakMap<Request, AuditRequestContext>();
  #open = 0;
  #idle: Array<() => void> = [];

  static create(): AuditRequestRegistry {
    return new AuditRequestRegistry();
  }

  private constructor() {}

  /** A request whose records are being written; `completed()` follows once. */
  track(req: Request, context: AuditRequestContext): void {
    this.#contexts.set(req, context);
    this.#open++;
  }

  /** A tracked request's completion record has been handed to the pipeline. */
  completed(): void {
    this.#open--;
    if (this.#open <= 0) {
      this.#open = 0;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Resolves when no tracked request awaits its completion record, or at the deadline. */
  async idle(deadline: number): Promise<void> {
    if (this.#open === 0) {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>(resolve => {
      this.#idle.push(resolve);
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      timer.unref?.();
    });
    clearTimeout(timer);
  }

  get(req: Request): AuditRequestContext | undefined {
    return this.#contexts.get(req);
  }
}
