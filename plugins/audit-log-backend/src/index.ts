/**
 * The audit log backend: captures the HTTP traffic of wrapped plugins, routes
 * plugins' own audit events through the same redacting pipeline, and writes
 * every record as one JSON line on stdout.
 *
 * @packageDocumentation
 */
export { default } from './feature';
export * from './config';
export {
  createAuditCapture,
  AUDIT_ID_HEADER,
} from './capture/createAuditCapture';
export type {
  AuditCapture,
  AuditCaptureOptions,
} from './capture/createAuditCapture';
export { auditLogServiceFactory } from './services/auditLogServiceFactory';
export { auditHttpRouterServiceFactory } from './services/auditHttpRouterServiceFactory';
export { auditAuditorServiceFactory } from './services/auditAuditorServiceFactory';
export {
  auditRootLoggerServiceFactory,
  createOrdinaryLogSafetyFormat,
} from './services/auditRootLoggerServiceFactory';
export { auditLogPlugin } from './plugin';
export {
  auditLogEventsReadPermission,
  auditLogPermissions,
} from './permissions';
export { auditLogAuditRoutes } from './auditLogRoutes';
export { KnexAuditStore } from './database/KnexAuditStore';
export { StoreSink } from './database/StoreSink';
export type { StoreSinkOptions } from './database/StoreSink';
export { toStoredRecord } from './database/AuditStore';
export type {
  AuditStore,
  AuditQuery,
  AuditPage,
  StoredAuditRecord,
} from './database/AuditStore';
export { createRouter } from './service/router';
export type { AuditLogRouterOptions } from './service/router';
