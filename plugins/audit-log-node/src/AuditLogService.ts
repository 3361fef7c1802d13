import type {
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { createServiceRef } from '@backstage/backend-plugin-api';
import type { Request } from 'express';
import { AuditActor, AuditLevel, AuditStage, AuditStatus } from './record';

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
 * An audited HTTP request in flight, as the HTTP capture records it.
 *
 * @public
 */
export interface AuditRequestContext {
  /** Shared by the request's initiation and completion records. */
  readonly auditId: string;
  /** Who is asking, once the plugin's credentials are resolved. */
  readonly actor: Promise<AuditActor>;
  /**
   * Adds meta the wrapped plugin itself knows (its own auditor events' meta,
   * e.g. the catalog's `totalItems`) to the request's completion record.
   */
  addUpstreamMeta(meta: Record<string, unknown>): void;
}

/** What a sink reports about itself. @public */
export interface AuditSinkStats {
  /** Records the destination holds. */
  delivered: number;
  /** Delivery attempts that failed and were retried. */
  retried: number;
  /** Records given up on, by reason (`queue-full`, `refused`, `format`, `shutdown`...). */
  dropped: Record<string, number>;
  /** Records waiting to be delivered. */
  queued: number;
}

/** Counters across the whole pipeline. @public */
export interface AuditLogStats {
  /** Records built and handed to the sinks. */
  emitted: number;
  /** Events skipped by include/exclude configuration. */
  filtered: number;
  /** Records that could not be built. */
  failed: number;
  sinks: Record<string, AuditSinkStats>;
}

/**
 * The audit log of a backend: capture → build and redact → format → sinks.
 * Any backend code can emit records through it; nothing here throws into the
 * caller.
 *
 * @public
 */
export interface AuditLogService {
  /**
   * Whether some sink waits for its records (`blocking`), and whether one
   * refuses requests it cannot record (`strict`): the HTTP capture waits
   * accordingly.
   */
  readonly waits: 'none' | 'blocking' | 'strict';
  /** Builds, redacts, formats and hands one record to every sink. Never throws. */
  emit(event: AuditEventInput): void;
  /**
   * As {@link AuditLogService.emit}, and resolves once every sink whose
   * delivery mode waits (`blocking`, `strict`) holds the record: `true` when
   * all of them do, `false` when one failed, dropped it or timed out. Never
   * rejects. Callers that do not need to wait use `emit`.
   */
  emitAndWait(event: AuditEventInput): Promise<boolean>;
  /** Whether records of this event are written at all (include/exclude, master switch). */
  isEventEnabled(eventName: string): boolean;
  /**
   * The audit context of an HTTP request the capture records, if it does:
   * its auditId, its actor, and a way to lend it upstream meta.
   */
  requestContext(req: Request): AuditRequestContext | undefined;
  /**
   * The actor of a request as the audit log records it: the plugin's own
   * `httpAuth` decides who it is, `auditLog.trustProxy` where it comes from.
   * Never rejects: unauthenticated or invalid credentials give `actorId: null`.
   */
  resolveActor(req: Request, httpAuth: HttpAuthService): Promise<AuditActor>;
  /** Counts and reports (rate limited, on the backend's logger) a failure of the audit machinery. */
  reportFailure(where: string, error: unknown): void;
  /** Waits until every sink has delivered what it accepted, or the bound passes. */
  flush(timeoutMs?: number): Promise<void>;
  stats(): AuditLogStats;
}

/** Where the pipeline reports its own failures. @public */
export type AuditFailureLogger = Pick<LoggerService, 'error'>;

/**
 * The backend's audit log. Provided by `@backstage-audit/plugin-audit-log-backend`.
 *
 * @public
 */
export const auditLogServiceRef = createServiceRef<AuditLogService>({
  id: 'audit-log.service',
  scope: 'root',
});
