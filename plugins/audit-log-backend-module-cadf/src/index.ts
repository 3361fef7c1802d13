/**
 * OpenStack interoperability for the audit log: the `cadf` format
 * (keystonemiddleware's audit events, with an audit map) and the `amqp` sink
 * type (oslo.messaging notifications on RabbitMQ).
 *
 * @packageDocumentation
 */
import { cadfAuditLogModule } from './module';

export default cadfAuditLogModule;
export { cadfFormatServiceFactory, amqpSinkTypeServiceFactory } from './module';
export { CadfFormat, CADF_FORMAT_ID } from './cadf/CadfFormat';
export type { CadfFormatOptions, CadfService } from './cadf/CadfFormat';
export type {
  CadfAttachment,
  CadfEndpoint,
  CadfEvent,
  CadfResource,
} from './cadf/types';
export type { CadfOutcome } from './cadf/taxonomy';
export { defaultCadfAuditMap } from './auditMap/defaultCadfAuditMap';
export type { CadfEventMapping } from './auditMap/defaultCadfAuditMap';
export { CadfAuditMap } from './auditMap/CadfAuditMap';
export type {
  CadfAuditMapOptions,
  ResolvedCadfMapping,
} from './auditMap/CadfAuditMap';
export { OpenStackAuditMap } from './auditMap/OpenStackAuditMap';
export { AmqpTransport } from './amqp/AmqpTransport';
export type { AmqpTransportOptions } from './amqp/AmqpTransport';
export { amqpSinkType } from './amqp/amqpSinkType';
export { OSLO_PRIORITIES } from './config';
export type { AmqpSinkConfig, OsloPriority } from './config';
