import schema from '../schema/audit-record.schema.json';

/**
 * The JSON Schema (draft-07) of an audit record of schema version
 * {@link AUDIT_SCHEMA_VERSION}, also shipped as
 * `schema/audit-record.schema.json`. Consumers can validate records with any
 * JSON Schema validator (the tests of this project validate every record
 * they capture with it).
 *
 * @public
 */
export const auditRecordJsonSchema: Readonly<Record<string, unknown>> = schema;
