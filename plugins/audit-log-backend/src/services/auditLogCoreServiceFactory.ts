import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { AuditLogConfig, readAuditLogConfig } from '../config';
import { AuditActorResolver } from '../capture/AuditActorResolver';
import { AuditRequestRegistry } from '../capture/AuditRequestRegistry';
import { StoreBinding } from '../database/StoreBinding';

/**
 * What the audit log's own parts share inside this package: the `auditLog`
 * config, read and validated once; the in-flight request registry; the one
 * actor resolver; and the binding through which the plugin hands its store
 * to the `store` sink.
 */
export interface AuditLogCore {
  config: AuditLogConfig;
  requests: AuditRequestRegistry;
  actors: AuditActorResolver;
  store: StoreBinding;
}

/** Internal to this package: not exported to adopters. */
export const auditLogCoreServiceRef = createServiceRef<AuditLogCore>({
  id: 'audit-log.core',
  scope: 'root',
});

export const auditLogCoreServiceFactory = createServiceFactory({
  service: auditLogCoreServiceRef,
  deps: { config: coreServices.rootConfig },
  factory({ config }): AuditLogCore {
    const parsed = readAuditLogConfig(config);
    return {
      config: parsed,
      requests: AuditRequestRegistry.create(),
      actors: AuditActorResolver.create({ trustProxy: parsed.trustProxy }),
      store: StoreBinding.create(),
    };
  },
});
