import { randomUUID } from 'node:crypto';
import { AuditEventInput } from './AuditLogService';
import {
  AUDIT_SCHEMA_VERSION,
  AuditError,
  AuditLevel,
  AuditRecord,
  AuditRequest,
} from './record';
import { Redactor, RedactOptions } from './redaction/Redactor';

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

const TOKEN_FINGERPRINT = /^sha256:[0-9a-f]{16}$/;

/** @public */
export interface AuditRecordBuilderOptions {
  redactor: Redactor;
  /** Level of events without a more specific one. Default `info`. */
  defaultLevel?: AuditLevel;
  /** Per-event level overrides. */
  eventLevels?: Record<string, AuditLevel>;
  /** Include error stacks in `errors[]`. Default false. */
  includeErrorStack?: boolean;
  /** Request and response bodies larger than this are truncated. Default 64 KiB. */
  maxBodyBytes?: number;
}

/**
 * Builds records from events, redacting every value as it copies it: nothing
 * is cloned first and redacted later, so a secret is never duplicated on its
 * way to a sink.
 *
 * @public
 */
export class AuditRecordBuilder {
  readonly #redactor: Redactor;
  readonly #defaultLevel: AuditLevel;
  readonly #eventLevels: Map<string, AuditLevel>;
  readonly #includeStack: boolean;
  readonly #maxBodyBytes: number;

  static create(options: AuditRecordBuilderOptions): AuditRecordBuilder {
    return new AuditRecordBuilder(options);
  }

  private constructor(options: AuditRecordBuilderOptions) {
    this.#redactor = options.redactor;
    this.#defaultLevel = options.defaultLevel ?? 'info';
    this.#eventLevels = new Map(Object.entries(options.eventLevels ?? {}));
    this.#includeStack = options.includeErrorStack ?? false;
    this.#maxBodyBytes = options.maxBodyBytes ?? 65536;
  }

  /** One redacted record. May throw on a value no redaction can copy; callers count that. */
  build(event: AuditEventInput): AuditRecord {
    const redactor = this.#redactor;
    let secretValues = event.secretValues ? [...event.secretValues] : undefined;
    // Values under credential keys are redacted where they stand; scrub them
    // from every other string too (an error message echoing a token).
    const echoed: string[] = [];
    const req = event.request;
    if (req?.body !== undefined)
      redactor.collectSensitiveValues(req.body, echoed);
    if (req?.query !== undefined) {
      redactor.collectSensitiveValues(req.query, echoed, { queryParams: true });
    }
    if (event.meta) redactor.collectSensitiveValues(event.meta, echoed);
    if (echoed.length > 0) {
      secretValues = secretValues ? [...secretValues, ...echoed] : echoed;
    }
    const opts: RedactOptions = { secretValues };
    const bodyOpts: RedactOptions = {
      secretValues,
      maxBytes: this.#maxBodyBytes,
    };
    const level =
      this.#eventLevels.get(event.eventName) ??
      event.level ??
      this.#defaultLevel;
    const fingerprint = event.actor.tokenFingerprint;

    const record: AuditRecord = {
      level,
      message: `${event.eventName} ${event.stage} ${event.status}`,
      isAuditLog: true,
      schemaVersion: AUDIT_SCHEMA_VERSION,
      timestamp: isoNow(),
      auditId: event.auditId ?? randomUUID(),
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
        tokenFingerprint:
          typeof fingerprint === 'string' && TOKEN_FINGERPRINT.test(fingerprint)
            ? fingerprint
            : undefined,
      },
    };
    if (event.meta) {
      const meta = redactor.copy(event.meta, opts) as Record<string, unknown>;
      if (Object.keys(meta).length > 0) {
        record.meta = meta;
      }
    }
    if (req) {
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
    const redactor = this.#redactor;
    const out: AuditError = {
      name: String(redactor.copy(String(e.name ?? 'Error'), opts)),
      message: String(redactor.copy(String(e.message ?? error), opts)),
    };
    if (this.#includeStack && typeof e.stack === 'string') {
      out.stack = String(redactor.copy(e.stack, opts));
    }
    return out;
  }
}
