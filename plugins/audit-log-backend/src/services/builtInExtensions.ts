import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  auditLogFormatsServiceRef,
  auditLogRouteTablesServiceRef,
  auditLogSinkTypesServiceRef,
} from '@backstage-audit/plugin-audit-log-node';
import { auditLogAuditRoutes } from '../auditLogRoutes';
import { createBackstageAuditorFormat } from '../formats/backstageAuditorFormat';
import { rhdhFormat } from '../formats/rhdhFormat';
import { createFileSinkType } from '../sinks/fileSinkType';
import { stdoutSinkType } from '../sinks/stdoutSinkType';
import { createStoreSinkType } from '../sinks/storeSinkType';
import { auditLogCoreServiceRef } from './auditLogCoreServiceFactory';

/** The `rhdh` format, through the same mechanism as any other. @public */
export const rhdhFormatServiceFactory = createServiceFactory({
  service: auditLogFormatsServiceRef,
  deps: {},
  factory: () => rhdhFormat,
});

/**
 * The `backstage-auditor` format: upstream Backstage's auditor shape. Reads
 * `backend.logger.meta` once, because Backstage's root logger adds those
 * fields to every line upstream's auditor prints.
 *
 * @public
 */
export const backstageAuditorFormatServiceFactory = createServiceFactory({
  service: auditLogFormatsServiceRef,
  deps: { config: coreServices.rootConfig },
  factory: ({ config }) =>
    createBackstageAuditorFormat({
      loggerMeta: config.getOptionalConfig('backend.logger.meta')?.get(),
    }),
});

/** The `stdout` sink type. @public */
export const stdoutSinkTypeServiceFactory = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: {},
  factory: () => stdoutSinkType,
});

/** The `file` sink type: rotated, optionally gzipped files. @public */
export const fileSinkTypeServiceFactory = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: {},
  factory: () => createFileSinkType(),
});

/** The `store` sink type, fed to the audit-log plugin's store. @public */
export const storeSinkTypeServiceFactory = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: { core: auditLogCoreServiceRef },
  factory: ({ core }) => createStoreSinkType(core.store),
});

/** The audit log's own route table: reading the trail is audited. @public */
export const auditLogRouteTableServiceFactory = createServiceFactory({
  service: auditLogRouteTablesServiceRef,
  deps: {},
  factory: () => auditLogAuditRoutes,
});
