/*
 * An example developer-portal backend with the audit log installed the way an
 * adopter installs it: real catalog, scaffolder, guest sign-in and
 * permissions, plus three lines for the audit log and one for a root logger
 * that keeps secrets out of ordinary logs too.
 */
import { createBackend } from '@backstage/backend-defaults';
import { auditRootLoggerServiceFactory } from '@backstage-audit/plugin-audit-log-backend';

const backend = createBackend();

// Audit log: the pipeline, the capturing HTTP router and the redacting auditor ...
backend.add(import('@backstage-audit/plugin-audit-log-backend'));
// ... the catalog's and the scaffolder's event tables ...
backend.add(import('@backstage-audit/plugin-catalog-backend-module-audit-log'));
backend.add(
  import('@backstage-audit/plugin-scaffolder-backend-module-audit-log'),
);
// ... and ordinary logs (including the HTTP access log) without credentials.
backend.add(auditRootLoggerServiceFactory);
// Optional outputs, inert until a sink in auditLog.sinks uses them: CADF on
// oslo.messaging (format cadf, type amqp) and the object-storage archive (type s3).
backend.add(import('@backstage-audit/plugin-audit-log-backend-module-cadf'));
backend.add(import('@backstage-audit/plugin-audit-log-backend-module-s3'));

backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@backstage/plugin-permission-backend-module-allow-all-policy'),
);

// A start-up error (a bad auditLog key, say) ends the process with its message
// instead of leaving a half-started backend behind.
backend.start().catch(error => {
  console.error(error);
  process.exit(1);
});
