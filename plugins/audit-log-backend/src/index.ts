/**
 * The audit log backend: captures the HTTP traffic of wrapped plugins, routes
 * plugins' own audit events through the same redacting pipeline, and writes
 * every record as one JSON line on stdout.
 *
 * @packageDocumentation
 */
export { default } from './feature';
export * from './config';
export { createAuditCapture, AUDIT_ID_HEADER } from './capture/createAuditCapture';
export type { AuditCapture, AuditCaptureOptions } from './capture/createAuditCapture';
export { auditLogServiceFactory } from './services/auditLogServiceFactory';
export { auditHttpRouterServiceFactory } from './services/auditHttpRouterServiceFactory';
export { auditAuditorServiceFactory } from './services/auditAuditorServiceFactory';
export {
  auditRootLoggerServiceFactory,
  createOrdinaryLogSafetyFormat,
} from './services/auditRootLoggerServiceFactory';
