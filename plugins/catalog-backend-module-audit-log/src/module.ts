import { createBackendModule } from '@backstage/backend-plugin-api';
import { auditLogServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { catalogAuditRoutes } from './catalogAuditRoutes';

/**
 * Registers the catalog's audit route table with the audit log.
 *
 * @public
 */
export const catalogModuleAuditLog = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'audit-log',
  register(reg) {
    reg.registerInit({
      deps: { auditLog: auditLogServiceRef },
      async init({ auditLog }) {
        auditLog.registerRouteTable(catalogAuditRoutes);
      },
    });
  },
});
