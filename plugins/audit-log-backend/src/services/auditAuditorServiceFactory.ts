import {
  AuditorService,
  AuditorServiceEvent,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { auditLogServiceRef } from '@backstage-audit/plugin-audit-log-node';
import { randomUUID } from 'node:crypto';
import { AUDIT_LOG_PLUGIN_ID, readAuditLogConfig } from '../config';
import { resolveActorId } from '../capture/actor';

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
 * are dropped: the capture already records them in full. Everything else
 * becomes records named `<pluginId>.<eventId>`.
 *
 * @public
 */
export const auditAuditorServiceFactory = createServiceFactory({
  service: coreServices.auditor,
  deps: {
    config: coreServices.rootConfig,
    plugin: coreServices.pluginMetadata,
    httpAuth: coreServices.httpAuth,
    auditLog: auditLogServiceRef,
  },
  factory({ config, plugin, httpAuth, auditLog }): AuditorService {
    const pluginId = plugin.getId();
    const auditConfig = readAuditLogConfig(config);
    const captured =
      auditConfig.enabled &&
      (auditConfig.plugins.includes(pluginId) ||
        pluginId === AUDIT_LOG_PLUGIN_ID);
    const serviceActor = `plugin:${pluginId}`;

    return {
      async createEvent(options) {
        const { eventId, request, meta } = options;
        if (captured && request) {
          // The HTTP capture records this request; lend it the plugin's own meta
          // (the catalog's totalItems and pageInfo, a created location's id...).
          const inFlight = auditLog.requests.get(request);
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
          auditLog.claimedUpstreamEvents.has(eventName) ||
          !auditLog.isEventEnabled(eventName)
        ) {
          return NOOP_EVENT;
        }
        const auditId = randomUUID();
        const actorId = request
          ? await resolveActorId(httpAuth, request)
          : serviceActor;
        const base = {
          plugin: pluginId,
          eventName,
          auditId,
          actor: {
            actorId,
            ip: request?.socket?.remoteAddress,
            hostname: request?.socket?.remoteAddress,
            client: request?.headers['user-agent'],
          },
          request: request
            ? { method: request.method, url: request.originalUrl }
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
