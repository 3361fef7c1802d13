import {
  createBackendFeatureLoader,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { auditLogRouteTablesServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { catalogAuditRoutes } from './catalogAuditRoutes';

/**
 * The catalog's audit route table, registered with the audit log.
 *
 * @public
 */
export const catalogAuditRouteTableServiceFactory = createServiceFactory({
  service: auditLogRouteTablesServiceRef,
  deps: {},
  factory: () => catalogAuditRoutes,
});

/**
 * What `backend.add(import('@backstage-audit/plugin-catalog-backend-module-audit-log'))`
 * installs: the catalog's event table.
 *
 * @public
 */
export const catalogModuleAuditLog = createBackendFeatureLoader({
  *loader() {
    yield catalogAuditRouteTableServiceFactory;
  },
});
