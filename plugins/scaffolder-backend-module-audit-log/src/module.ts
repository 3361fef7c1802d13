import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { scaffolderTaskBrokerExtensionPoint } from '@backstage/plugin-scaffolder-node/alpha';
import { auditLogServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { installTaskLifecycleAudit } from './lifecycle/installTaskLifecycleAudit';
import { scaffolderAuditRoutes } from './scaffolderAuditRoutes';

/**
 * Registers the scaffolder's audit route table with the audit log, and
 * records the lifecycle of every task (executions, steps, skips, iterations,
 * stale-task cancellations, dry runs), attributed to the task's creator.
 *
 * @public
 */
export const scaffolderModuleAuditLog = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'audit-log',
  register(reg) {
    reg.registerInit({
      deps: {
        auditLog: auditLogServiceRef,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        auth: coreServices.auth,
        auditor: coreServices.auditor,
        scheduler: coreServices.scheduler,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        events: eventsServiceRef,
        taskBroker: scaffolderTaskBrokerExtensionPoint,
      },
      async init({ auditLog, ...deps }) {
        auditLog.registerRouteTable(scaffolderAuditRoutes);
        await installTaskLifecycleAudit({ auditLog, ...deps });
      },
    });
  },
});
