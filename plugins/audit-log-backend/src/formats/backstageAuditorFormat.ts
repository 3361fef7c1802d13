import type {
  AuditFormat,
  AuditRecord,
} from '@backstage-audit/plugin-audit-log-node';
import {
  BackstageAuditorEventRow,
  BackstageAuditorSeverity,
  backstageAuditorEvents,
} from './backstageAuditorEvents';
import { sortedJson } from './sortedJson';

/** @public */
export interface BackstageAuditorFormatOptions {
  /**
   * The fields Backstage's root logger adds to every line: `service:
   * backstage` and `backend.logger.meta`. Record fields win over them, as
   * the fields of a log call win over winston's default meta.
   */
  loggerMeta?: Readonly<Record<string, unknown>>;
  /** The event table; default {@link backstageAuditorEvents}. */
  events?: Readonly<Record<string, BackstageAuditorEventRow>>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Severity when neither our table nor upstream's known events name one:
 * medium, so that a dashboard that hides `low` does not hide an unknown
 * event that may matter.
 */
const UNKNOWN_UPSTREAM_SEVERITY: BackstageAuditorSeverity = 'medium';

function severityByMethod(record: AuditRecord): BackstageAuditorSeverity {
  const method = record.request?.method;
  return method && SAFE_METHODS.has(method.toUpperCase()) ? 'low' : 'medium';
}

/** `ScaffolderTaskStepSkip` -> `scaffolder-task-step-skip`: upstream's id style. */
export function kebabCaseEventId(eventName: string): string {
  return (
    eventName
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase() || 'event'
  );
}

/** The upstream discriminator of an upstream event's meta. */
function discriminator(meta: Record<string, unknown> | undefined): string {
  const d = meta?.actionType ?? meta?.queryType;
  return typeof d === 'string' ? d : '';
}

const key = (plugin: string, eventId: string, disc: string) =>
  `${plugin}\u0000${eventId}\u0000${disc}`;

interface Resolved {
  eventId: string;
  severityLevel: BackstageAuditorSeverity;
  meta: Record<string, unknown> | undefined;
}

/**
 * Creates the `backstage-auditor` format: each record as the JSON line that
 * upstream Backstage's default auditor (`auditorServiceFactory` of
 * `@backstage/backend-defaults`, logging through the plugin's logger) prints
 * in a production backend, so that dashboards written for it (RHDH 1.6 and
 * later) keep working. The record is only rearranged: no body, query object
 * or response body is added, and every value is the already redacted one.
 *
 * Differences from upstream's output, kept on purpose (see
 * docs/format-backstage-auditor.md): `level` is our record's level (upstream
 * turns `low` into `debug`, invisible at the default level); `timestamp`
 * (ISO-8601 with zone; upstream's production line has none); `auditId`,
 * `response` and `errors` are added; a failure's `stack` appears only when
 * `auditLog.errors.includeStack` is on.
 *
 * @public
 */
export function createBackstageAuditorFormat(
  options: BackstageAuditorFormatOptions = {},
): AuditFormat {
  const rows = new Map(
    Object.entries(options.events ?? backstageAuditorEvents),
  );
  const loggerFields: Record<string, unknown> = {
    service: 'backstage',
    ...options.loggerMeta,
  };

  // Severities of upstream's own events, for records of the
  // `<pluginId>.<eventId>` kind (upstream events that reached our auditor
  // outside any captured request), whose meta is upstream's own.
  const upstreamSeverity = new Map<string, BackstageAuditorEventRow>();
  for (const row of rows.values()) {
    if (row.origin === 'upstream') {
      const disc = row.actionType ?? row.queryType ?? '';
      upstreamSeverity.set(key(row.plugin, row.eventId, disc), row);
    }
  }

  function fromRow(
    row: BackstageAuditorEventRow,
    record: AuditRecord,
  ): Resolved {
    const meta: Record<string, unknown> = {};
    if (row.queryInMeta && record.request) {
      meta.query = record.request.query;
    }
    const dryRun = record.meta?.isDryLog === true;
    if (record.meta) {
      for (const [k, v] of Object.entries(record.meta)) {
        if (k !== 'isDryLog') {
          meta[row.renameMeta?.[k] ?? k] = v;
        }
      }
    }
    // Upstream's discriminators and dry-run flag win over any meta of ours.
    if (row.queryType) {
      meta.queryType = row.queryType;
    }
    if (row.actionType) {
      meta.actionType = row.actionType;
    }
    if (dryRun || row.alwaysIsDryRun) {
      meta.isDryRun = dryRun;
    }
    return {
      eventId: row.eventId,
      severityLevel:
        (dryRun ? row.dryRunSeverityLevel : undefined) ??
        row.severityLevel ??
        severityByMethod(record),
      meta,
    };
  }

  function fromUpstream(
    plugin: string,
    eventId: string,
    record: AuditRecord,
  ): Resolved {
    const meta = record.meta;
    const row =
      upstreamSeverity.get(key(plugin, eventId, discriminator(meta))) ??
      upstreamSeverity.get(key(plugin, eventId, ''));
    const severityLevel =
      (meta?.isDryRun === true ? row?.dryRunSeverityLevel : undefined) ??
      row?.severityLevel ??
      UNKNOWN_UPSTREAM_SEVERITY;
    return { eventId, severityLevel, meta };
  }

  function unknown(record: AuditRecord): Resolved {
    let meta = record.meta;
    if (meta && 'isDryLog' in meta) {
      const { isDryLog, ...rest } = meta;
      meta = { ...rest, isDryRun: isDryLog === true };
    }
    return {
      eventId: kebabCaseEventId(record.eventName),
      severityLevel: severityByMethod(record),
      meta,
    };
  }

  function resolve(record: AuditRecord): Resolved {
    const row = rows.get(record.eventName);
    if (row) {
      return fromRow(row, record);
    }
    const prefix = `${record.plugin}.`;
    if (
      record.eventName.startsWith(prefix) &&
      record.eventName.length > prefix.length
    ) {
      return fromUpstream(
        record.plugin,
        record.eventName.slice(prefix.length),
        record,
      );
    }
    return unknown(record);
  }

  function render(record: AuditRecord): string {
    const { eventId, severityLevel, meta } = resolve(record);
    let message = `${record.plugin}.${eventId}`;
    const out: Record<string, unknown> = {
      ...loggerFields,
      isAuditEvent: true,
      level: record.level,
      timestamp: record.timestamp,
      auditId: record.auditId,
      plugin: record.plugin,
      eventId,
      severityLevel,
      status: record.stage === 'initiation' ? 'initiated' : record.status,
      actor: {
        // Upstream leaves an unknown actor out rather than writing null.
        actorId: record.actor.actorId ?? undefined,
        ip: record.actor.ip,
        hostname: record.actor.hostname,
        userAgent: record.actor.client,
      },
      request: record.request
        ? { method: record.request.method, url: record.request.url }
        : undefined,
      // Upstream leaves empty meta out.
      meta: meta && Object.keys(meta).length > 0 ? meta : undefined,
      response: record.response
        ? {
            status: record.response.status,
            clientClosed: record.response.clientClosed,
          }
        : undefined,
      errors: record.errors,
    };
    const error = record.status === 'failed' ? record.errors?.[0] : undefined;
    if (error) {
      // Upstream logs the error itself as the log call's meta: winston
      // appends its message to the line's message and lifts name and stack
      // to the top level.
      if (error.message) {
        message = `${message} ${error.message}`;
      }
      out.name = error.name;
      out.stack = error.stack;
    }
    out.message = message;
    return sortedJson(out);
  }

  return {
    id: 'backstage-auditor',
    render(record) {
      try {
        return render(record);
      } catch (error) {
        // Records arrive redacted and well formed; this is the last line of
        // defence against one that is not (a missing actor).
        return sortedJson({
          ...loggerFields,
          isAuditEvent: true,
          level: record?.level,
          message: `audit record could not be rendered: ${String(
            (error as Error)?.message,
          )}`,
          timestamp: record?.timestamp,
          auditId: record?.auditId,
          plugin: record?.plugin,
        });
      }
    },
  };
}
