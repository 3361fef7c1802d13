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
export * from './cadf/CadfFormat';
export * from './cadf/types';
export {
  CADF_EVENT_TYPE_URI,
  isCadfAction,
  isCadfResourceType,
} from './cadf/taxonomy';
export type { CadfOutcome } from './cadf/taxonomy';
export * from './auditMap/defaultCadfAuditMap';
export * from './auditMap/CadfAuditMap';
export * from './auditMap/OpenStackAuditMap';
export { AmqpTransport } from './amqp/AmqpTransport';
export type { AmqpTransportOptions } from './amqp/AmqpTransport';
export { amqpSinkType } from './amqp/amqpSinkType';
export { osloEventType } from './amqp/osloNotification';
export { readAmqpSinkConfig, OSLO_PRIORITIES } from './config';
export type { AmqpSinkConfig, OsloPriority } from './config';
