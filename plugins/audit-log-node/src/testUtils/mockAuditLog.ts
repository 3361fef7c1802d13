import type {
  HttpAuthService,
  ServiceFactory,
} from '@backstage/backend-plugin-api';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import type { Request } from 'express';
// Types of the public API come from the main entry point, so that this entry
// point's API report refers to them rather than repeating them (type-only:
// nothing of it is loaded at run time).
import type {
  AuditActor,
  AuditEventInput,
  AuditLevel,
  AuditLogService,
  AuditLogStats,
  AuditRecord,
  RedactorOptions,
} from '@backstage-audit/plugin-audit-log-node';
import { auditLogServiceRef } from '../AuditLogService';
import { AuditRecordBuilder } from '../AuditRecordBuilder';
import { Redactor } from '../redaction/Redactor';

/** @public */
export interface MockAuditLogOptions {
  /** Redaction settings, as `auditLog.redaction`. */
  redaction?: RedactorOptions;
  /** When non-empty, only these events are recorded. */
  includeEvents?: string[];
  excludeEvents?: string[];
  defaultLevel?: AuditLevel;
}

/**
 * An in-memory audit log for tests: the real record builder and redactor,
 * with every record kept in order instead of delivered.
 *
 * @public
 */
export interface MockAuditLog extends AuditLogService {
  /** Every record, in the order it was emitted. */
  readonly records: AuditRecord[];
  /** Failures reported with `reportFailure`, as `[where, error]`. */
  readonly failures: Array<[string, unknown]>;
  /** The records as their JSON lines, joined by line breaks: search it for leaks. */
  text(): string;
  /** A root service factory providing this very instance as `auditLogServiceRef`. */
  factory(): ServiceFactory<AuditLogService, 'root', 'singleton'>;
}

async function actorIdOf(
  httpAuth: HttpAuthService,
  req: Request,
): Promise<string | null> {
  try {
    const { principal } = await httpAuth.credentials(req);
    const p = principal as {
      type?: string;
      userEntityRef?: string;
      subject?: string;
    };
    if (p.type === 'user') return p.userEntityRef ?? null;
    if (p.type === 'service') return p.subject ?? null;
    return null;
  } catch {
    return null;
  }
}

/**
 * Creates a {@link MockAuditLog}: pass `mockAuditLog().factory()` to
 * `startTestBackend` (or use it directly as an `AuditLogService`) and assert
 * on `records`. For records of HTTP routes, install the real
 * `@backstage-audit/plugin-audit-log-backend` in the test backend and
 * register a sink with {@link createRecordingSinkType} instead: the HTTP
 * capture is part of the backend package.
 *
 * @public
 */
export function mockAuditLog(options: MockAuditLogOptions = {}): MockAuditLog {
  const builder = AuditRecordBuilder.create({
    redactor: Redactor.create(options.redaction),
    defaultLevel: options.defaultLevel,
  });
  const include = options.includeEvents?.length
    ? new Set(options.includeEvents)
    : undefined;
  const exclude = new Set(options.excludeEvents ?? []);
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  const failures: Array<[string, unknown]> = [];
  let filtered = 0;
  const isEventEnabled = (name: string) =>
    (!include || include.has(name)) && !exclude.has(name);
  const service: MockAuditLog = {
    waits: 'none',
    records,
    failures,
    isEventEnabled,
    emit(event: AuditEventInput) {
      if (!isEventEnabled(event.eventName)) {
        filtered++;
        return;
      }
      const record = builder.build(event);
      records.push(record);
      lines.push(JSON.stringify(record));
    },
    async emitAndWait(event) {
      service.emit(event);
      return true;
    },
    requestContext() {
      return undefined;
    },
    async resolveActor(
      req: Request,
      httpAuth: HttpAuthService,
    ): Promise<AuditActor> {
      const ip = req.socket?.remoteAddress;
      return {
        actorId: await actorIdOf(httpAuth, req),
        ip,
        hostname: ip,
        client: req.headers['user-agent'],
      };
    },
    reportFailure(where, error) {
      failures.push([where, error]);
    },
    async flush() {},
    stats(): AuditLogStats {
      return {
        emitted: records.length,
        filtered,
        failed: failures.length,
        sinks: {},
      };
    },
    text: () => lines.join('\n'),
    factory: () =>
      createServiceFactory({
        service: auditLogServiceRef,
        deps: {},
        factory: () => service,
      }),
  };
  return service;
}
