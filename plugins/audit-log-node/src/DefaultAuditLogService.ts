import { randomUUID } from 'node:crypto';
import {
  AuditEventInput,
  AuditLogService,
  AuditLogStats,
  AuditRequestContext,
} from './AuditLogService';
import {
  AUDIT_SCHEMA_VERSION,
  AuditError,
  AuditLevel,
  AuditRecord,
  AuditRequest,
} from './record';
import { Redactor, RedactOptions } from './redaction/Redactor';
import { AuditRouteMatcher } from './routes/AuditRouteMatcher';
import { AuditRouteTable } from './routes/types';
import { serializeAuditRecord } from './serialize';
import { AuditSink } from './sinks/types';

let lastMs = NaN;
let lastIso = '';

/** `new Date().toISOString()`, formatted once per millisecond. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** Where the pipeline reports its own failures (the backend's logger). @public */
export interface AuditFailureLogger {
  error(message: string): void;
}

/** @public */
export interface DefaultAuditLogServiceOptions {
  redactor: Redactor;
  /** Reports failures of the pipeline itself, rate limited. */
  logger?: AuditFailureLogger;
  sinks?: AuditSink[];
  /** Level of events without a more specific one. Default `info`. */
  defaultLevel?: AuditLevel;
  /** Per-event level overrides. */
  eventLevels?: Record<string, AuditLevel>;
  /** False records nothing at all. Default true. */
  enabled?: boolean;
  /** When non-empty, only these events are recorded. */
  includeEvents?: string[];
  excludeEvents?: string[];
  /** Include error stacks in `errors[]`. Default false. */
  includeErrorStack?: boolean;
  /** Request and response bodies larger than this are truncated. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Minimum interval between two failure reports on the logger. Default 10 s. */
  failureReportIntervalMs?: number;
}

/**
 * The audit pipeline. Every record flows one way: build (redacting every
 * value as it is copied) -> serialize once -> each sink. Nothing here throws
 * into the caller, and every record that cannot be written is counted.
 *
 * @public
 */
export class DefaultAuditLogService implements AuditLogService {
  readonly redactor: Redactor;
  readonly requests = new WeakMap<object, AuditRequestContext>();
  readonly claimedUpstreamEvents = new Set<string>();
  readonly #sinks: AuditSink[];
  readonly #matchers = new Map<string, AuditRouteMatcher>();
  readonly #defaultLevel: AuditLevel;
  readonly #eventLevels: Map<string, AuditLevel>;
  readonly #enabled: boolean;
  readonly #include?: Set<string>;
  readonly #exclude: Set<string>;
  readonly #includeStack: boolean;
  readonly #maxBodyBytes: number;
  readonly #logger?: AuditFailureLogger;
  readonly #reportIntervalMs: number;
  #lastReport = 0;
  #unreported = 0;
  /** Throws from sinks that broke the never-throw contract, by sink name. */
  readonly #thrown = new Map<string, number>();
  #emitted = 0;
  #filtered = 0;
  #failed = 0;

  static create(
    options: DefaultAuditLogServiceOptions,
  ): DefaultAuditLogService {
    return new DefaultAuditLogService(options);
  }

  private constructor(options: DefaultAuditLogServiceOptions) {
    this.redactor = options.redactor;
    this.#sinks = [...(options.sinks ?? [])];
    this.#defaultLevel = options.defaultLevel ?? 'info';
    this.#eventLevels = new Map(Object.entries(options.eventLevels ?? {}));
    this.#enabled = options.enabled ?? true;
    this.#include = options.includeEvents?.length
      ? new Set(options.includeEvents)
      : undefined;
    this.#exclude = new Set(options.excludeEvents ?? []);
    this.#includeStack = options.includeErrorStack ?? false;
    this.#maxBodyBytes = options.maxBodyBytes ?? 65536;
    this.#logger = options.logger;
    this.#reportIntervalMs = options.failureReportIntervalMs ?? 10_000;
  }

  isEventEnabled(eventName: string): boolean {
    if (!this.#enabled) {
      return false;
    }
    if (this.#include && !this.#include.has(eventName)) {
      return false;
    }
    return !this.#exclude.has(eventName);
  }

  registerRouteTable(table: AuditRouteTable): void {
    if (this.#matchers.has(table.pluginId)) {
      throw new Error(
        `An audit route table for plugin '${table.pluginId}' is already registered`,
      );
    }
    this.#matchers.set(table.pluginId, AuditRouteMatcher.create(table));
  }

  getRouteMatcher(pluginId: string): AuditRouteMatcher | undefined {
    return this.#matchers.get(pluginId);
  }

  addSink(sink: AuditSink): void {
    this.#sinks.push(sink);
  }

  emit(event: AuditEventInput): string {
    const auditId = event.auditId ?? randomUUID();
    if (!this.isEventEnabled(event.eventName)) {
      this.#filtered++;
      return auditId;
    }
    let record: AuditRecord;
    let line: string;
    try {
      record = this.#build(event, auditId);
      line = serializeAuditRecord(record);
    } catch (error) {
      this.#failed++;
      this.reportFailure('build', error);
      return auditId;
    }
    this.#emitted++;
    for (const sink of this.#sinks) {
      try {
        sink.write(record, line);
      } catch (error) {
        // Sinks count their own failures; this catches a sink that broke its contract.
        this.#thrown.set(sink.name, (this.#thrown.get(sink.name) ?? 0) + 1);
        this.reportFailure(sink.name, error);
      }
    }
    return auditId;
  }

  async flush(): Promise<void> {
    await Promise.all(this.#sinks.map(s => s.flush?.()));
  }

  stats(): AuditLogStats {
    const sinks: AuditLogStats['sinks'] = {};
    for (const sink of this.#sinks) {
      const own = sink.stats();
      sinks[sink.name] = {
        ...own,
        failed: own.failed + (this.#thrown.get(sink.name) ?? 0),
      };
    }
    return {
      emitted: this.#emitted,
      filtered: this.#filtered,
      failed: this.#failed,
      sinks,
    };
  }

  /**
   * Reports a failure of the audit pipeline on the backend's logger, at most
   * once per interval with the number of failures since the last report, so a
   * broken sink cannot flood the logs it shares with the backend.
   */
  reportFailure(where: string, error: unknown): void {
    if (where !== 'build' && !this.#sinks.some(s => s.name === where)) {
      this.#failed++;
    }
    this.#unreported++;
    const now = Date.now();
    if (!this.#logger || now - this.#lastReport < this.#reportIntervalMs) {
      return;
    }
    this.#lastReport = now;
    const count = this.#unreported;
    this.#unreported = 0;
    try {
      this.#logger.error(
        `Audit log: ${count} failure(s) in ${where}, latest: ${String(
          (error as Error)?.message ?? error,
        )}; totals ${JSON.stringify(this.stats())}`,
      );
    } catch {
      // A throwing logger or sink.stats() must not throw into emit()'s caller.
    }
  }

  #build(event: AuditEventInput, auditId: string): AuditRecord {
    const redactor = this.redactor;
    const secretValues = event.secretValues
      ? [...event.secretValues]
      : undefined;
    const opts: RedactOptions = { secretValues };
    const bodyOpts: RedactOptions = {
      secretValues,
      maxBytes: this.#maxBodyBytes,
    };
    const level =
      this.#eventLevels.get(event.eventName) ??
      event.level ??
      this.#defaultLevel;

    const record: AuditRecord = {
      level,
      message: `${event.eventName} ${event.stage} ${event.status}`,
      isAuditLog: true,
      schemaVersion: AUDIT_SCHEMA_VERSION,
      timestamp: isoNow(),
      auditId,
      plugin: event.plugin,
      eventName: event.eventName,
      stage: event.stage,
      status: event.status,
      actor: {
        actorId: event.actor.actorId ?? null,
        ip: event.actor.ip,
        hostname: event.actor.hostname,
        // The user agent is the caller's to choose: it may carry anything.
        client:
          event.actor.client === undefined
            ? undefined
            : (redactor.copy(event.actor.client, opts) as string),
        tokenFingerprint: event.actor.tokenFingerprint,
      },
    };
    if (event.meta) {
      const meta = redactor.copy(event.meta, opts) as Record<string, unknown>;
      if (Object.keys(meta).length > 0) {
        record.meta = meta;
      }
    }
    if (event.request) {
      const req = event.request;
      // query and params are always objects, empty when there are none:
      // consumers with fixed mappings expect both.
      const request: AuditRequest = {
        method: req.method,
        url: redactor.copy(req.url, opts) as string,
        query: redactor.query(req.query, opts) ?? {},
        params: req.params
          ? (redactor.copy(req.params, opts) as Record<string, string>)
          : {},
      };
      if (req.body !== undefined) {
        request.body = redactor.copy(req.body, bodyOpts);
      }
      record.request = request;
    }
    if (event.response) {
      record.response = { status: event.response.status };
      if (event.response.body !== undefined) {
        record.response.body = redactor.copy(event.response.body, bodyOpts);
      }
      if (event.response.clientClosed) {
        record.response.clientClosed = true;
      }
    }
    if (event.errors?.length) {
      record.errors = event.errors.map(e => this.#error(e, opts));
    }
    return record;
  }

  #error(error: unknown, opts: RedactOptions): AuditError {
    const e = (error ?? {}) as {
      name?: unknown;
      message?: unknown;
      stack?: unknown;
    };
    const out: AuditError = {
      name: String(this.redactor.copy(String(e.name ?? 'Error'), opts)),
      message: String(this.redactor.copy(String(e.message ?? error), opts)),
    };
    if (this.#includeStack && typeof e.stack === 'string') {
      out.stack = String(this.redactor.copy(e.stack, opts));
    }
    return out;
  }
}
