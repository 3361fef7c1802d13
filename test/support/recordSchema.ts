/**
 * Validates captured audit records against the published JSON Schema; every
 * test harness that reads records calls it, so a record that drifts from the
 * schema fails whichever test produced it.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { auditRecordJsonSchema } from '@backstage-audit/plugin-audit-log-node';

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(auditRecordJsonSchema);

/** Throws, naming the record and what is wrong, unless every record is valid. */
export function assertValidRecords(records: readonly unknown[]): void {
  for (const record of records) {
    if (!validate(record)) {
      throw new Error(
        `Audit record does not match schema/audit-record.schema.json: ${ajv.errorsText(
          validate.errors,
        )}\n${JSON.stringify(record)}`,
      );
    }
  }
}
