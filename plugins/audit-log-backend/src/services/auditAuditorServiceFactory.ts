import {
  AuditorService,
  AuditorServiceEvent,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  auditLogRouteTablesServiceRef,
  auditLogServiceRef,
} from '@backstage-audit/plugin-audit-log-node';
import { randomUUID } from 'node:crypto';
import { AUDIT_LOG_PLUGIN_ID } from '../config';
import { auditLogCoreServiceRef } from './auditLogCoreServiceFactory';

const NOOP_EVENT: AuditorServiceEvent = {
  async success() {},
  async fail() {},
};

/**
 * Replaces `coreServices.auditor` so that plugins' own audit events go
 * through the same redacting pipeline, in the same record format, instead of
 * being printed unredacted by the default auditor (its records carry raw
 * query strings and whatever meta a plugin passes).
 *
 * For plugins whose HTTP traffic is captured, request-bound upstream events
 * lend their meta to the request's record (through
 * `AuditLogService.requestContext`) and write nothing of their own: the
 * capture records the request in full. Request-less events that a route
 * table supersedes (`supersededUpstreamEvents`, e.g. the scaffolder's task
 * execution, recorded by its lifecycle observer) are dropped; everything else
 * becomes records named `<pluginId>.<eventId>`.
 *
 * @public
 */
export const auditAuditorServiceFactory = createServiceFactory({
  service: coreServices.auditor,
  deps: {
    plugin: coreServices.pluginMetadata,
    httpAuth: coreServices.httpAuth,
    auditLog: auditLogServiceRef,
    core: auditLogCoreServiceRef,
    routeTables: auditLogRouteTablesServiceRef,
  },
  factory({ plugin, httpAuth, auditLog, core, routeTables }): AuditorService {
    const pluginId = plugin.getId();
    const { config } = core;
    const captured =
      config.enabled &&
      (config.plugins.includes(pluginId) || pluginId === AUDIT_LOG_PLUGIN_ID);
    const superseded = new Set(
      routeTables
        .filter(t => t.pluginId === pluginId)
        .flatMap(t => t.supersededUpstreamEvents ?? []),
    );
    const serviceActor = `plugin:${pluginId}`;

    return {
      async createEvent(options) {
        const { eventId, request, meta } = options;
        if (captured && request) {
          // The HTTP capture records this request; lend it the plugin's own meta
          // (the catalog's totalItems and pageInfo, a created location's id...).
          const inFlight = auditLog.requestContext(request);
          if (!inFlight) {
            return NOOP_EVENT;
          }
          if (meta) {
            inFlight.addUpstreamMeta(meta);
          }
          return {
            async success(params) {
              if (params?.meta) {
                inFlight.addUpstreamMeta(params.meta);
              }
            },
            async fail(params) {
              if (params?.meta) {
                inFlight.addUpstreamMeta(params.meta);
              }
            },
          };
        }
        const eventName = `${pluginId}.${eventId}`;
        if (
          (!request && superseded.has(eventId)) ||
          !auditLog.isEventEnabled(eventName)
        ) {
          return NOOP_EVENT;
        }
        const auditId = randomUUID();
        const actor = request
          ? await auditLog.resolveActor(request, httpAuth)
          : { actorId: serviceActor };
        const base = {
          plugin: pluginId,
          eventName,
          auditId,
          actor,
          request: request
            ? {
                method: request.method,
                url: request.originalUrl,
                query: request.query,
              }
            : undefined,
        };
        auditLog.emit({
          ...base,
          stage: 'initiation',
          status: 'succeeded',
          meta,
        });
        return {
          async success(params) {
            auditLog.emit({
              ...base,
              stage: 'completion',
              status: 'succeeded',
              meta: { ...meta, ...params?.meta },
            });
          },
          async fail(params) {
            auditLog.emit({
              ...base,
              stage: 'completion',
              status: 'failed',
              meta: { ...meta, ...params?.meta },
              errors: [params.error],
            });
          },
        };
      },
    };
  },
});
