/**
 * Audit record model, redactor, route tables, sinks and the audit log service
 * for Backstage backends.
 *
 * @packageDocumentation
 */
export * from './record';
export * from './redaction/Redactor';
export * from './routes/types';
export * from './routes/AuditRouteMatcher';
export * from './sinks/types';
export * from './sinks/WinstonStreamSink';
export * from './serialize';
export * from './AuditLogService';
export * from './DefaultAuditLogService';
export * from './extensions';
export {
  isCredentialKey,
  CREDENTIAL_KEY_RULES,
} from './redaction/credentialKeys';
export {
  redactCredentialValues,
  CREDENTIAL_VALUE_SHAPES,
} from './redaction/credentialValues';
export * from './schema';
