import type { AuditRequestContext } from '@backstage-audit/plugin-audit-log-node';
import type { Request } from 'express';

/**
 * The HTTP requests the capture is recording, so that the plugin's own
 * auditor events and the scaffolder module can find a request's audit
 * context (`AuditLogService.requestContext`). Keyed weakly by the request:
 * nothing outlives it.
 */
export class AuditRequestRegistry {
  readonly #contexts = new WeakMap<Request, AuditRequestContext>();

  static create(): AuditRequestRegistry {
    return new AuditRequestRegistry();
  }

  private constructor() {}

  track(req: Request, context: AuditRequestContext): void {
    this.#contexts.set(req, context);
  }

  get(req: Request): AuditRequestContext | undefined {
    return this.#contexts.get(req);
  }
}
