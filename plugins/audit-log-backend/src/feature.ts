import { createBackendFeatureLoader } from '@backstage/backend-plugin-api';
import { auditLogServiceFactory } from './services/auditLogServiceFactory';
import { auditHttpRouterServiceFactory } from './services/auditHttpRouterServiceFactory';
import { auditAuditorServiceFactory } from './services/auditAuditorServiceFactory';
import { auditLogPlugin } from './plugin';

/**
 * Everything `backend.add(import('@backstage-audit/plugin-audit-log-backend'))`
 * installs: the audit pipeline, the capturing HTTP router, the redacting
 * auditor, and the audit-log plugin (store, query API, retention). A factory the backend already added explicitly for one of these
 * services wins over the one here.
 *
 * @public
 */
export default createBackendFeatureLoader({
  *loader() {
    yield auditLogServiceFactory;
    yield auditHttpRouterServiceFactory;
    yield auditAuditorServiceFactory;
    yield auditLogPlugin;
  },
});
