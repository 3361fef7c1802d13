import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { auditLogServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { auditLogAuditRoutes } from './auditLogRoutes';
import { AUDIT_LOG_PLUGIN_ID, readAuditLogConfig } from './config';
import { KnexAuditStore } from './database/KnexAuditStore';
import { StoreSink } from './database/StoreSink';
import { auditLogPermissions } from './permissions';
import { createRouter } from './service/router';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The audit-log plugin: keeps the trail in its own database (knex
 * migrations, SQLite or PostgreSQL), serves it at `/api/audit-log/events`
 * behind `audit-log.events.read`, and enforces retention.
 *
 * @public
 */
export const auditLogPlugin = createBackendPlugin({
  pluginId: AUDIT_LOG_PLUGIN_ID,
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        lifecycle: coreServices.lifecycle,
        auditLog: auditLogServiceRef,
      },
      async init(deps) {
        const {
          config,
          logger,
          database,
          scheduler,
          httpRouter,
          lifecycle,
          auditLog,
        } = deps;
        const options = readAuditLogConfig(config).store;
        auditLog.registerRouteTable(auditLogAuditRoutes);
        deps.permissionsRegistry.addPermissions(auditLogPermissions);
        if (!options.enabled) {
          logger.info(
            'Audit store disabled (auditLog.store.enabled: false); records go to stdout only',
          );
          return;
        }

        const store = await KnexAuditStore.create({ database });
        const sink = StoreSink.create({
          store,
          maxQueue: options.maxQueue,
          batchSize: options.batchSize,
          flushIntervalMs: options.flushIntervalMs,
          onError: error => auditLog.reportFailure('store', error),
        });
        auditLog.addSink(sink);
        lifecycle.addShutdownHook(() => sink.close());

        const retentionDays = options.retentionDays;
        if (retentionDays !== undefined) {
          // The scheduler runs a task on one replica at a time.
          await scheduler.scheduleTask({
            id: 'audit-log-retention',
            frequency: { minutes: options.retentionFrequencyMinutes },
            timeout: { minutes: 30 },
            fn: async () => {
              const deleted = await store.deleteOlderThan(
                Date.now() - retentionDays * DAY_MS,
              );
              logger.info(
                `Audit retention: deleted ${deleted} record(s) older than ${retentionDays} days`,
              );
            },
          });
        }

        httpRouter.use(
          createRouter({
            store,
            httpAuth: deps.httpAuth,
            permissions: deps.permissions,
          }),
        );
      },
    });
  },
});
