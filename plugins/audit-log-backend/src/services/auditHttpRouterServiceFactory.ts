import Router from 'express-promise-router';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  createAuthIntegrationRouter,
  createCookieAuthRefreshMiddleware,
  createCredentialsBarrier,
  createLifecycleMiddleware,
  createRateLimitMiddleware,
  createWebSocketRouter,
} from '@backstage/backend-defaults/httpRouter';
import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import {
  auditLogRouteTablesServiceRef,
  auditLogServiceRef,
} from '@backstage-audit/plugin-audit-log-node';
import { AUDIT_LOG_PLUGIN_ID } from '../config';
import { createAuditCapture } from '../capture/createAuditCapture';
import { auditLogCoreServiceRef } from './auditLogCoreServiceFactory';

/**
 * Replaces `coreServices.httpRouter` with the default chain of
 * `@backstage/backend-defaults` plus audit capture for the configured
 * plugins. Capture runs first, before rate limiting and the credentials
 * barrier, so rejected attempts (401, 429) are recorded too; an error capture
 * sits between the plugin's routes and its error handler. Plugins that are
 * not audited get exactly the default chain.
 *
 * @public
 */
export const auditHttpRouterServiceFactory = createServiceFactory({
  service: coreServices.httpRouter,
  initialization: 'always',
  deps: {
    plugin: coreServices.pluginMetadata,
    config: coreServices.rootConfig,
    lifecycle: coreServices.lifecycle,
    rootHttpRouter: coreServices.rootHttpRouter,
    auth: coreServices.auth,
    httpAuth: coreServices.httpAuth,
    logger: coreServices.logger,
    auditLog: auditLogServiceRef,
    core: auditLogCoreServiceRef,
    routeTables: auditLogRouteTablesServiceRef,
  },
  async factory({
    auth,
    httpAuth,
    config,
    plugin,
    rootHttpRouter,
    lifecycle,
    logger,
    auditLog,
    core,
    routeTables,
  }) {
    const pluginId = plugin.getId();
    const auditConfig = core.config;
    const tables = routeTables.filter(t => t.pluginId === pluginId);
    if (tables.length > 1) {
      throw new Error(
        `Audit log: ${tables.length} route tables are registered for plugin '${pluginId}'; there can be one`,
      );
    }
    const audited =
      auditConfig.enabled &&
      (auditConfig.plugins.includes(pluginId) ||
        pluginId === AUDIT_LOG_PLUGIN_ID);
    const capture = audited
      ? createAuditCapture({
          pluginId,
          auditLog,
          httpAuth,
          config: auditConfig,
          routes: tables[0],
          requests: core.requests,
          actors: core.actors,
          waiting: auditLog.waits,
        })
      : undefined;

    const router = Router();
    if (capture) {
      router.use(capture.capture);
    }
    router.use(createRateLimitMiddleware({ pluginId, config }));
    rootHttpRouter.use(`/api/${pluginId}`, router);
    const credentialsBarrier = createCredentialsBarrier({ httpAuth, config });
    router.use(createAuthIntegrationRouter({ auth }));
    router.use(createLifecycleMiddleware({ config, lifecycle }));
    router.use(credentialsBarrier.middleware);
    router.use(createCookieAuthRefreshMiddleware({ auth, httpAuth }));
    const pluginRoutes = Router();
    router.use(pluginRoutes);
    if (capture) {
      router.use(capture.errorCapture);
    }
    router.use(MiddlewareFactory.create({ config, logger }).error());

    return {
      use(handler) {
        pluginRoutes.use(handler);
      },
      // WebSocket upgrades bypass the express chain, so they are not captured.
      addWebSocketHandler: createWebSocketRouter({
        auth,
        config,
        lifecycle,
        logger,
        pluginId,
        rootHttpRouter,
      }),
      addAuthPolicy(policy) {
        credentialsBarrier.addAuthPolicy(policy);
      },
    };
  },
});
