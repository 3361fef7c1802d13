import type { HttpAuthService } from '@backstage/backend-plugin-api';
import type { AuditActor } from '@backstage-audit/plugin-audit-log-node';
import type { Request } from 'express';
import {
  ClientAddressResolver,
  createClientAddressResolver,
  resolveActorId,
} from './actor';
import { tokenFingerprint } from './tokenFingerprint';

/**
 * The one way the audit log names who made a request and from where, used by
 * the HTTP capture, the auditor replacement and the scaffolder's dry-run
 * replay alike: the plugin's own `httpAuth` decides who (so the record names
 * whom the plugin served), `auditLog.trustProxy` decides whether
 * X-Forwarded-For is believed.
 */
export class AuditActorResolver {
  readonly #address: ClientAddressResolver;

  static create(options: {
    trustProxy: boolean | number | string[];
  }): AuditActorResolver {
    return new AuditActorResolver(options.trustProxy);
  }

  private constructor(trustProxy: boolean | number | string[]) {
    this.#address = createClientAddressResolver(trustProxy);
  }

  /** Where the request comes from, without its actor id (synchronous, no I/O). */
  origin(req: Request): Omit<AuditActor, 'actorId'> {
    const ip = this.#address(req);
    return {
      ip,
      hostname: ip,
      client: req.headers['user-agent'],
      tokenFingerprint: tokenFingerprint(req),
    };
  }

  /** The whole actor; never rejects (unauthenticated gives `actorId: null`). */
  async resolve(req: Request, httpAuth: HttpAuthService): Promise<AuditActor> {
    const origin = this.origin(req);
    return { actorId: await resolveActorId(httpAuth, req), ...origin };
  }
}
