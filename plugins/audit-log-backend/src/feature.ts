import { createBackendFeatureLoader } from '@backstage/backend-plugin-api';
import { auditLogServiceFactory } from './services/auditLogServiceFactory';
import { auditHttpRouterServiceFactory } from './services/auditHttpRouterServiceFactory';
import { auditAuditorServiceFactory } from './services/auditAuditorServiceFactory';

/**
 * Everything `backend.add(import('@backstage-audit/plugin-audit-log-backend'))`
 * installs: the audit pipeline, the capturing HTTP router and the redacting
 * auditor. A factory the backend already added explicitly for one of these
 * services wins over the one here.
 *
 * @public
 */
export default createBackendFeatureLoader({
  *loader() {
    yield auditLogServiceFactory;
    yield auditHttpRouterServiceFactory;
    yield auditAuditorServiceFactory;
  },
});
