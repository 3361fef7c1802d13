import type {
  AuditSinkContext,
  AuditSinkType,
} from '@backstage-audit/plugin-audit-log-node';
import { readAmqpSinkConfig } from '../config';
import { CADF_FORMAT_ID } from '../cadf/CadfFormat';
import { AmqpTransport } from './AmqpTransport';

/**
 * The `amqp` sink type: oslo.messaging notifications on RabbitMQ. Its default
 * delivery mode is `best-effort`; `blocking` and `strict` wait for the
 * broker's confirmation.
 *
 * @public
 */
export const amqpSinkType: AuditSinkType = {
  type: 'amqp',
  deliveryModes: ['best-effort', 'blocking', 'strict'],
  defaultFormat: CADF_FORMAT_ID,
  create(context: AuditSinkContext) {
    const { sink, unknownKeys } = readAmqpSinkConfig(
      context.config,
      context.configKey,
    );
    if (unknownKeys.length) {
      context.logger.warn(
        `Ignoring unknown keys of an amqp sink: ${unknownKeys.join(', ')}`,
      );
    }
    return AmqpTransport.create({
      name: context.name,
      config: sink,
      logger: context.logger,
      dropped: (count, reason, error) => context.dropped(count, reason, error),
    });
  },
};
