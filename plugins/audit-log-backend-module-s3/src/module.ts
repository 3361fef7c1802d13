import {
  auditLogSinkTypesServiceRef,
  AuditSinkType,
} from '@backstage-audit/plugin-audit-log-node';
import {
  createBackendFeatureLoader,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { readS3ArchiveConfig } from './config';
import { S3ArchiveTransport } from './S3ArchiveTransport';

/**
 * The `s3` sink type. `deliver` resolves once the entries are fsync'ed in
 * the spool directory, so with `delivery: blocking` a request's completion
 * record is spooled (not yet uploaded) before its response ends.
 *
 * @public
 */
export const s3SinkType: AuditSinkType = {
  type: 's3',
  deliveryModes: ['best-effort', 'blocking', 'strict'],
  async create(context) {
    const config = readS3ArchiveConfig(context.config, context.configKey);
    return S3ArchiveTransport.create({
      config,
      configKey: context.configKey,
      logger: context.logger,
      dropped: (count, reason, error) => context.dropped(count, reason, error),
    });
  },
};

/**
 * Provides the `s3` sink type to the audit log.
 *
 * @public
 */
export const s3SinkTypeServiceFactory = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: {},
  factory: () => s3SinkType,
});

/**
 * `backend.add(import('@backstage-audit/plugin-audit-log-backend-module-s3'))`:
 * adds the `s3` sink type for `auditLog.sinks.<name>` blocks.
 *
 * @public
 */
export const auditLogModuleS3 = createBackendFeatureLoader({
  *loader() {
    yield s3SinkTypeServiceFactory;
  },
});
