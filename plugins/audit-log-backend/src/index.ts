/**
 * The audit log backend: captures the HTTP traffic of wrapped plugins, routes
 * plugins' own audit events through the same redacting pipeline, and delivers
 * every record to its sinks (stdout and the queryable store by default).
 *
 * @packageDocumentation
 */
export { default, auditLogFeatures } from './feature';
export { auditRootLoggerServiceFactory } from './services/auditRootLoggerServiceFactory';
export {
  auditLogEventsReadPermission,
  auditLogPermissions,
} from './permissions';
export { AUDIT_ID_HEADER } from './capture/createAuditCapture';
