import { createBackendModule } from '@backstage/backend-plugin-api';
import { auditLogServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { scaffolderAuditRoutes } from './scaffolderAuditRoutes';

/**
 * Registers the scaffolder's audit route table with the audit log.
 *
 * @public
 */
export const scaffolderModuleAuditLog = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'audit-log',
  register(reg) {
    reg.registerInit({
      deps: { auditLog: auditLogServiceRef },
      async init({ auditLog }) {
        auditLog.registerRouteTable(scaffolderAuditRoutes);
      },
    });
  },
});
