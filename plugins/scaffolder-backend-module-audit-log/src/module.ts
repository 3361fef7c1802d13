import {
  coreServices,
  createBackendFeatureLoader,
  createBackendModule,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { scaffolderTaskBrokerExtensionPoint } from '@backstage/plugin-scaffolder-node/alpha';
import {
  auditLogRouteTablesServiceRef,
  auditLogServiceRef,
  defineAuditRoutes,
} from '@backstage-audit/plugin-audit-log-node';
import { readScaffolderLifecycleConfig } from './lifecycle/config';
import { installTaskLifecycleAudit } from './lifecycle/installTaskLifecycleAudit';
import { scaffolderAuditRoutes } from './scaffolderAuditRoutes';

/**
 * The scaffolder's audit route table. With the task lifecycle recorded, the
 * scaffolder's own request-less `task` auditor events (executions, actor
 * `plugin:scaffolder`) are superseded by the lifecycle records.
 *
 * @public
 */
export const scaffolderAuditRouteTableServiceFactory = createServiceFactory({
  service: auditLogRouteTablesServiceRef,
  deps: { config: coreServices.rootConfig },
  factory: ({ config }) =>
    defineAuditRoutes('scaffolder', scaffolderAuditRoutes.routes, {
      supersededUpstreamEvents: readScaffolderLifecycleConfig(config).enabled
        ? ['task']
        : [],
    }),
});

/**
 * Records the lifecycle of every task (executions, steps, skips, iterations,
 * stale-task cancellations, dry runs), attributed to the task's creator.
 *
 * @public
 */
export const scaffolderTaskLifecycleAuditModule = createBackendModule({
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
      async init(deps) {
        await installTaskLifecycleAudit(deps);
      },
    });
  },
});

/**
 * What `backend.add(import('@backstage-audit/plugin-scaffolder-backend-module-audit-log'))`
 * installs: the scaffolder's event table and its task-lifecycle audit.
 *
 * @public
 */
export const scaffolderModuleAuditLog = createBackendFeatureLoader({
  *loader() {
    yield scaffolderAuditRouteTableServiceFactory;
    yield scaffolderTaskLifecycleAuditModule;
  },
});
