import { createServiceRef } from '@backstage/backend-plugin-api';
import { AuditActor, AuditLevel, AuditStage, AuditStatus } from './record';
import { Redactor } from './redaction/Redactor';
import { AuditRouteMatcher } from './routes/AuditRouteMatcher';
import { AuditRouteTable } from './routes/types';
import { AuditSink, AuditSinkStats } from './sinks/types';

/**
 * An event to record. Values are passed raw: the service redacts every one of
 * them while building the record, before anything is copied or written.
 *
 * @public
 */
export interface AuditEventInput {
  plugin: string;
  eventName: string;
  stage: AuditStage;
  status: AuditStatus;
  /** Generated (UUID) when absent. */
  auditId?: string;
  actor: AuditActor;
  meta?: Record<string, unknown>;
  request?: {
    method: string;
    url: string;
    query?: unknown;
    params?: Record<string, string>;
    body?: unknown;
  };
  response?: { status: number; body?: unknown; clientClosed?: boolean };
  /** Errors or `{name, message}` objects; only for failed events. */
  errors?: unknown[];
  /** Secret values to scrub from every string of the record. */
  secretValues?: Iterable<string>;
  /** The event's default level; config overrides it. */
  level?: AuditLevel;
}

/**
 * An audited HTTP request in flight. The wrapped plugin's own auditor events
 * for the same request add their meta to it (e.g. the catalog's totalItems).
 *
 * @public
 */
export interface AuditRequestContext {
  readonly auditId: string;
  addUpstreamMeta(meta: Record<string, unknown>): void;
}

/** Counters across the whole pipeline. @public */
export interface AuditLogStats {
  /** Records built and handed to the sinks. */
  emitted: number;
  /** Events skipped by include/exclude configuration. */
  filtered: number;
  /** Records that could not be built or serialized. */
  failed: number;
  sinks: Record<string, AuditSinkStats>;
}

/**
 * The audit pipeline of a backend: build -> redact -> serialize once -> sinks.
 * Any backend code can emit records through it.
 *
 * @public
 */
export interface AuditLogService {
  /** Builds, redacts and writes one record. Never throws; returns its auditId. */
  emit(event: AuditEventInput): string;
  /** Whether records of this event are written at all (include/exclude). */
  isEventEnabled(eventName: string): boolean;
  readonly redactor: Redactor;
  /** Registers a plugin's route table (one per plugin). */
  registerRouteTable(table: AuditRouteTable): void;
  getRouteMatcher(pluginId: string): AuditRouteMatcher | undefined;
  addSink(sink: AuditSink): void;
  /** In-flight audited HTTP requests, keyed by the request object. */
  readonly requests: WeakMap<object, AuditRequestContext>;
  /**
   * Plugins' own auditor events (`<pluginId>.<eventId>`) that a richer
   * observer records instead; the auditor replacement drops their background
   * (request-less) occurrences so nothing is written twice.
   */
  readonly claimedUpstreamEvents: Set<string>;
  /** Counts and reports (rate limited, on the backend's logger) a failure of the audit machinery. */
  reportFailure(where: string, error: unknown): void;
  /** Waits until every sink has delivered what it accepted. */
  flush(): Promise<void>;
  stats(): AuditLogStats;
}

/**
 * The backend's audit log. Provided by `@backstage-audit/plugin-audit-log-backend`.
 *
 * @public
 */
export const auditLogServiceRef = createServiceRef<AuditLogService>({
  id: 'audit-log.service',
  scope: 'root',
});
