import {
  BackendFeature,
  createBackendFeatureLoader,
} from '@backstage/backend-plugin-api';
import { auditLogPlugin } from './plugin';
import { auditAuditorServiceFactory } from './services/auditAuditorServiceFactory';
import { auditHttpRouterServiceFactory } from './services/auditHttpRouterServiceFactory';
import { auditLogCoreServiceFactory } from './services/auditLogCoreServiceFactory';
import { auditLogServiceFactory } from './services/auditLogServiceFactory';
import {
  auditLogRouteTableServiceFactory,
  backstageAuditorFormatServiceFactory,
  fileSinkTypeServiceFactory,
  rhdhFormatServiceFactory,
  stdoutSinkTypeServiceFactory,
  storeSinkTypeServiceFactory,
} from './services/builtInExtensions';

/**
 * The parts of the audit log, for backends (and tests) that add them one by
 * one rather than through the feature loader. Add all of them.
 *
 * @public
 */
export const auditLogFeatures: ReadonlyArray<BackendFeature> = [
  auditLogCoreServiceFactory,
  auditLogServiceFactory,
  auditHttpRouterServiceFactory,
  auditAuditorServiceFactory,
  rhdhFormatServiceFactory,
  backstageAuditorFormatServiceFactory,
  stdoutSinkTypeServiceFactory,
  fileSinkTypeServiceFactory,
  storeSinkTypeServiceFactory,
  auditLogRouteTableServiceFactory,
  auditLogPlugin,
];

/**
 * Everything `backend.add(import('@backstage-audit/plugin-audit-log-backend'))`
 * installs: the audit pipeline with its built-in formats and sinks, the
 * capturing HTTP router, the redacting auditor, and the audit-log plugin
 * (store, query API, retention). A factory the backend already added
 * explicitly for `httpRouter` or `auditor` wins over the one here.
 *
 * @public
 */
export default createBackendFeatureLoader({
  *loader() {
    yield* auditLogFeatures;
  },
});
