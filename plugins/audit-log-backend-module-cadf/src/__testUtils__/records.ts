/**
 * Audit records shaped exactly as the capture, the scaffolder lifecycle and
 * the audit log itself write them (see the root README's examples), for tests
 * that need a record the real plugins cannot produce on demand.
 */
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';

let clock = Date.parse('2026-11-24T03:16:52.055Z');

/** A strictly increasing ISO timestamp. */
function now(): string {
  clock += 7;
  return new Date(clock).toISOString();
}

const ACTOR = {
  actorId: 'user:development/guest',
  ip: '::ffff:127.0.0.1',
  hostname: '::ffff:127.0.0.1',
  client: 'curl/7.88.1',
  tokenFingerprint: 'sha256:3f1c2a9b7d4e5f60',
};

/** One HTTP request's two records. */
export function httpPair(options: {
  auditId: string;
  plugin: string;
  eventName: string;
  method: string;
  url: string;
  status: number;
  actor?: AuditRecord['actor'];
  meta?: Record<string, unknown>;
  completionMeta?: Record<string, unknown>;
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  errors?: AuditRecord['errors'];
  clientClosed?: boolean;
}): [AuditRecord, AuditRecord] {
  const actor = options.actor ?? ACTOR;
  const request = {
    method: options.method,
    url: options.url,
    query: options.query ?? {},
    params: options.params ?? {},
  };
  const base = {
    level: 'info' as const,
    isAuditLog: true as const,
    schemaVersion: '2',
    auditId: options.auditId,
    plugin: options.plugin,
    eventName: options.eventName,
    actor,
  };
  const ok = options.status < 400 && !options.errors;
  return [
    {
      ...base,
      message: `${options.eventName} initiation succeeded`,
      timestamp: now(),
      stage: 'initiation',
      status: 'succeeded',
      ...(options.meta ? { meta: options.meta } : {}),
      request,
    },
    {
      ...base,
      message: `${options.eventName} completion ${ok ? 'succeeded' : 'failed'}`,
      timestamp: now(),
      stage: 'completion',
      status: ok ? 'succeeded' : 'failed',
      ...(options.completionMeta || options.meta
        ? { meta: options.completionMeta ?? options.meta }
        : {}),
      request: {
        ...request,
        ...(options.body !== undefined ? { body: options.body } : {}),
      },
      response: {
        status: options.status,
        ...(options.clientClosed ? { clientClosed: true } : {}),
      },
      ...(options.errors ? { errors: options.errors } : {}),
    },
  ];
}

/** A record with no HTTP request (task lifecycle, audit log start/stop). */
export function backgroundRecord(options: {
  auditId: string;
  plugin: string;
  eventName: string;
  stage: AuditRecord['stage'];
  status: AuditRecord['status'];
  actorId: string | null;
  meta?: Record<string, unknown>;
  errors?: AuditRecord['errors'];
}): AuditRecord {
  return {
    level: 'info',
    message: `${options.eventName} ${options.stage} ${options.status}`,
    isAuditLog: true,
    schemaVersion: '2',
    timestamp: now(),
    auditId: options.auditId,
    plugin: options.plugin,
    eventName: options.eventName,
    stage: options.stage,
    status: options.status,
    actor: { actorId: options.actorId },
    ...(options.meta ? { meta: options.meta } : {}),
    ...(options.errors ? { errors: options.errors } : {}),
  };
}
