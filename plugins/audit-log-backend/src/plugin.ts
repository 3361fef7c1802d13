import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { auditLogServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { AUDIT_LOG_PLUGIN_ID } from './config';
import { KnexAuditStore } from './database/KnexAuditStore';
import { scheduleRetention } from './database/retention';
import { auditLogPermissions } from './permissions';
import { createRouter } from './service/router';
import { auditLogCoreServiceRef } from './services/auditLogCoreServiceFactory';

/** How long a query waits for records still queued for the store. */
const READ_SETTLE_TIMEOUT_MS = 2000;

/**
 * The audit-log plugin: keeps the trail in its own database (knex
 * migrations, SQLite or PostgreSQL), hands that store to the `store` sink,
 * serves it at `/api/audit-log/events` behind `audit-log.events.read`, and
 * enforces retention.
 *
 * @public
 */
export const auditLogPlugin = createBackendPlugin({
  pluginId: AUDIT_LOG_PLUGIN_ID,
  register(env) {
    env.registerInit({
      deps: {
        logger: coreServices.logger,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        lifecycle: coreServices.lifecycle,
        auditLog: auditLogServiceRef,
        core: auditLogCoreServiceRef,
      },
      async init(deps) {
        const { logger, core, auditLog } = deps;
        const options = core.config.store;
        deps.permissionsRegistry.addPermissions(auditLogPermissions);
        if (!core.config.sinks.some(s => s.type === 'store')) {
          logger.info(
            'Audit store disabled (no sink of type store); the query API is not served',
          );
          return;
        }
        const store = await KnexAuditStore.create({ database: deps.database });
        core.store.bind(store);
        // The database closes after the plugins stop: drain the sinks before.
        deps.lifecycle.addShutdownHook(() => auditLog.flush());
        if (options.retentionDays !== undefined) {
          await scheduleRetention({
            store,
            scheduler: deps.scheduler,
            logger,
            days: options.retentionDays,
            frequencyMinutes: options.retentionFrequencyMinutes,
          });
        }
        deps.httpRouter.use(
          createRouter({
            store,
            httpAuth: deps.httpAuth,
            permissions: deps.permissions,
            settle: () => core.store.settle(READ_SETTLE_TIMEOUT_MS),
          }),
        );
      },
    });
  },
});
