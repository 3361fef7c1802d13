import {
  coreServices,
  createBackendFeatureLoader,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  auditLogFormatsServiceRef,
  auditLogSinkTypesServiceRef,
} from '@backstage-audit/plugin-audit-log-node';
import { amqpSinkType } from './amqp/amqpSinkType';
import { CadfAuditMap } from './auditMap/CadfAuditMap';
import { OpenStackAuditMap } from './auditMap/OpenStackAuditMap';
import { CadfFormat } from './cadf/CadfFormat';
import { CADF_FORMAT_CONFIG_KEY, readCadfFormatConfig } from './config';

/**
 * The `cadf` format, configured by `auditLog.formats.cadf` (read, and the
 * audit map file loaded, once at start-up; a bad value fails start-up).
 *
 * @public
 */
export const cadfFormatServiceFactory = createServiceFactory({
  service: auditLogFormatsServiceRef,
  deps: { config: coreServices.rootConfig },
  factory({ config }) {
    const options = readCadfFormatConfig(config);
    let openStack: OpenStackAuditMap | undefined;
    if (options.auditMapFile) {
      try {
        openStack = OpenStackAuditMap.fromFile(options.auditMapFile);
      } catch (error) {
        throw new Error(
          `Invalid config at ${CADF_FORMAT_CONFIG_KEY}.auditMapFile: ${(error as Error).message}`,
        );
      }
    }
    return CadfFormat.create({
      auditMap: CadfAuditMap.create({ events: options.events, openStack }),
      services: options.services,
      baseUrl: config.getOptionalString('backend.baseUrl'),
    });
  },
});

/**
 * The `amqp` sink type (oslo.messaging notifications on RabbitMQ).
 *
 * @public
 */
export const amqpSinkTypeServiceFactory = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: {},
  factory() {
    return amqpSinkType;
  },
});

/**
 * `backend.add(import('@backstage-audit/plugin-audit-log-backend-module-cadf'))`:
 * the `cadf` format and the `amqp` sink type.
 *
 * @public
 */
export const cadfAuditLogModule = createBackendFeatureLoader({
  *loader() {
    yield cadfFormatServiceFactory;
    yield amqpSinkTypeServiceFactory;
  },
});
