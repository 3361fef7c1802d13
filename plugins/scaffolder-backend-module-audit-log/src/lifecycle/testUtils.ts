import {
  MockAuditLog,
  mockAuditLog,
} from '@backstage-audit/plugin-audit-log-node/testUtils';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import { assertValidRecords } from '../../../../test/support/recordSchema';

const created: MockAuditLog[] = [];

// Every record a test produced must match the published JSON Schema.
afterEach(() => {
  for (const auditLog of created.splice(0)) {
    assertValidRecords(auditLog.records);
  }
});

/** The real record builder with every record kept (tests only). */
export function recordingAuditLog() {
  const auditLog = mockAuditLog();
  created.push(auditLog);
  return { auditLog, records: auditLog.records, text: () => auditLog.text() };
}
