import type {
  AuditFormat,
  AuditRecord,
} from '@backstage-audit/plugin-audit-log-node';

/**
 * Serializes a record to exactly one JSON line. JSON.stringify escapes line
 * breaks inside keys and values, so no input can split a record or forge a
 * second one. Never throws: a record that cannot be serialized is replaced by
 * a minimal one saying so (records arrive redacted and acyclic, so this is a
 * last line of defence).
 *
 * @public
 */
export function serializeAuditRecord(record: AuditRecord): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    return JSON.stringify({
      level: record.level,
      message: record.message,
      isAuditLog: true,
      schemaVersion: record.schemaVersion,
      timestamp: record.timestamp,
      auditId: record.auditId,
      plugin: record.plugin,
      eventName: record.eventName,
      stage: record.stage,
      status: record.status,
      actor: { actorId: record.actor?.actorId ?? null },
      errors: [
        {
          name: 'AuditSerializationError',
          message: `record could not be serialized: ${String(
            (error as Error)?.message,
          )}`,
        },
      ],
    });
  }
}

/**
 * `rhdh`: the record as this project defines it, Red Hat Developer Hub 1.4's
 * audit-log fields (see `schema/audit-record.schema.json`), one JSON object
 * per line. The default format of every sink, and the store's.
 *
 * @public
 */
export const rhdhFormat: AuditFormat = {
  id: 'rhdh',
  render: serializeAuditRecord,
};
