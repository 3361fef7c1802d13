/**
 * Version of the record layout. Bumped whenever a field changes meaning, so
 * readers can tell old records from new ones.
 *
 * @public
 */
export const AUDIT_SCHEMA_VERSION = '2';

/** @public */
export type AuditStage = 'initiation' | 'completion';

/** @public */
export type AuditStatus = 'succeeded' | 'failed';

/** Winston/npm level names an audit record may be written at. @public */
export type AuditLevel =
  'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';

/** @public */
export interface AuditActor {
  /** User entity ref, service subject, or null when unauthenticated. */
  actorId: string | null;
  ip?: string;
  /** The client's address (no reverse lookup is made; see README). */
  hostname?: string;
  /** The client's user agent. */
  client?: string;
  /**
   * `sha256:` and the first 16 hex digits of the SHA-256 of the bearer token
   * the request presented, when it presented one: lets an investigator tell
   * sessions apart without any part of the token itself. Absent without a
   * token.
   */
  tokenFingerprint?: string;
}

/** @public */
export interface AuditRequest {
  method: string;
  /** Original URL with credential-like query values redacted. */
  url: string;
  /** The parsed query, redacted; `{}` when there is none. */
  query: Record<string, unknown>;
  /** The route parameters, redacted; `{}` when there are none. */
  params: Record<string, string>;
  body?: unknown;
}

/** @public */
export interface AuditResponse {
  status: number;
  body?: unknown;
  /**
   * True when the client closed the connection after `status` was sent but
   * before the response was complete (a browser ending an event stream).
   */
  clientClosed?: boolean;
}

/** @public */
export interface AuditError {
  name: string;
  message: string;
  stack?: string;
}

/**
 * One audit record, as written to every sink. Follows Red Hat Developer Hub
 * 1.4's documented audit-log fields, plus `auditId`, `plugin`, `schemaVersion`.
 *
 * @public
 */
export interface AuditRecord {
  level: AuditLevel;
  message: string;
  isAuditLog: true;
  schemaVersion: string;
  /** ISO-8601 with zone designator. */
  timestamp: string;
  /** Shared by the initiation and completion records of one action. */
  auditId: string;
  plugin: string;
  eventName: string;
  stage: AuditStage;
  status: AuditStatus;
  actor: AuditActor;
  meta?: Record<string, unknown>;
  request?: AuditRequest;
  response?: AuditResponse;
  errors?: AuditError[];
}

/** The marker that replaces every redacted value. @public */
export const REDACTED = '***';
