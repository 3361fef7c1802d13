/**
 * What other plugins and modules import to work with the audit log: the
 * record type, its schema version and JSON Schema, the redactor, route-table
 * types and the matcher, the record builder, the extension points (route
 * tables, sink types, formats) and the audit log service ref.
 *
 * @packageDocumentation
 */
export * from './record';
export * from './schema';
export { Redactor } from './redaction/Redactor';
export type {
  RedactorOptions,
  RedactOptions,
  TruncationMarker,
} from './redaction/Redactor';
export * from './routes/types';
export * from './routes/AuditRouteMatcher';
export * from './AuditLogService';
export * from './AuditRecordBuilder';
export * from './extensions';
