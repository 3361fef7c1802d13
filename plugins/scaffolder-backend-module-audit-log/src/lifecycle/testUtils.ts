import {
  AuditRecord,
  DefaultAuditLogService,
  Redactor,
} from '@backstage-audit/plugin-audit-log-node';
import { assertValidRecords } from '../../../../test/support/recordSchema';

/** The real audit pipeline with a sink that keeps every record (tests only). */
export function recordingAuditLog() {
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  const auditLog = DefaultAuditLogService.create({
    redactor: Redactor.create(),
    sinks: [
      {
        name: 'recording',
        write(record, line) {
          assertValidRecords([JSON.parse(line)]);
          records.push(record);
          lines.push(line);
        },
        stats: () => ({
          written: records.length,
          failed: 0,
          dropped: 0,
          queued: 0,
        }),
      },
    ],
  });
  return { auditLog, records, text: () => lines.join('\n') };
}
