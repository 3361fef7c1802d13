import * as amqp from 'amqplib';
import type {
  AuditSinkEntry,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import type { LoggerService } from '@backstage/backend-plugin-api';
import type { AmqpSinkConfig } from '../config';
import { osloNotificationBody } from './osloNotification';

/** Options of {@link AmqpTransport.create}. @public */
export interface AmqpTransportOptions {
  /** The sink's name, for log lines and the connection's name on the broker. */
  name: string;
  config: AmqpSinkConfig;
  logger: LoggerService;
  /** Counts entries the broker can never take (too large, not JSON). */
  dropped(count: number, reason: string, error?: unknown): void;
}

interface Link {
  connection: amqp.ChannelModel;
  channel: amqp.ConfirmChannel;
  /** Settles when the connection or the channel closes, whatever the cause. */
  closed: Promise<void>;
}

/**
 * Publishes audit entries as oslo.messaging notifications (the `messagingv2`
 * driver's protocol) on RabbitMQ, so that an unmodified oslo.messaging
 * notification listener receives them.
 *
 * - Connects on the first delivery, and again on the first delivery after the
 *   connection was lost: the pipeline's retries with backoff are the
 *   reconnection schedule.
 * - Declares what oslo's notifier declares: the topic exchange (durable false,
 *   auto-delete false by default) and the queue `<topic>.<priority>` bound to
 *   it, so notifications published before any consumer exists are kept.
 * - Resolves a delivery once the broker confirmed every message of the batch
 *   (publisher confirms); on any failure it drops the connection and rejects,
 *   so the pipeline retries the same batch after reconnecting. A message
 *   the broker had taken before the failure is then published again, with
 *   the same `message_id` and `_unique_id`.
 * - Never puts the URL or credentials into a log line or an error.
 *
 * @public
 */
export class AmqpTransport implements AuditSinkTransport {
  readonly #options: AmqpTransportOptions;
  readonly #routingKey: string;
  /** The open link, until it closes. */
  #link?: Link;
  /** A connection attempt in progress. */
  #opening?: Promise<Link>;
  #closing = false;

  private constructor(options: AmqpTransportOptions) {
    this.#options = options;
    this.#routingKey = `${options.config.topic}.${options.config.priority}`;
  }

  static create(options: AmqpTransportOptions): AmqpTransport {
    return new AmqpTransport(options);
  }

  async deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    if (this.#closing) {
      throw new Error(`AMQP sink ${this.#options.name} is closed`);
    }
    const { config } = this.#options;
    const bodies: Buffer[] = [];
    for (const entry of entries) {
      const body = this.#bodyOf(entry);
      if (body) {
        bodies.push(body);
      }
    }
    if (!bodies.length) {
      return;
    }
    let link: Link;
    try {
      link = await this.#connect();
    } catch (error) {
      throw this.#failed('cannot connect', error);
    }
    try {
      const { channel } = link;
      for (const body of bodies) {
        const ok = channel.publish(config.exchange, this.#routingKey, body, {
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          deliveryMode: 2,
        });
        if (!ok) {
          // The socket's buffer is full: wait for it to drain, or for the link to die.
          await Promise.race([
            new Promise<void>(resolve => channel.once('drain', resolve)),
            rejectWhenClosed(link, 'connection closed while publishing'),
          ]);
        }
      }
      await withTimeout(
        Promise.race([
          channel.waitForConfirms(),
          rejectWhenClosed(
            link,
            'connection closed before the broker confirmed',
          ),
        ]),
        config.confirmTimeoutMs,
        `no confirmation from the broker within ${config.confirmTimeoutMs} ms`,
      );
    } catch (error) {
      this.#drop(link);
      throw this.#failed('delivery failed', error);
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    const link = this.#link ?? (await this.#opening?.catch(() => undefined));
    this.#link = undefined;
    if (!link) {
      return;
    }
    await link.channel.close().catch(() => undefined);
    await link.connection.close().catch(() => undefined);
  }

  /** The notification of one entry; undefined (and counted) when it can never be delivered. */
  #bodyOf(entry: AuditSinkEntry): Buffer | undefined {
    const { config } = this.#options;
    const line = entry.line;
    // The payload is spliced in unparsed: a line that is not a JSON object would make the
    // whole message unreadable, and oslo listeners drop unreadable messages.
    if (!line.startsWith('{') || !line.endsWith('}')) {
      this.#options.dropped(1, 'not-json');
      return undefined;
    }
    let body: Buffer;
    try {
      body = osloNotificationBody(entry, {
        sink: this.#options.name,
        publisherId: config.publisherId,
        priority: config.priority,
      }).body;
    } catch (error) {
      this.#options.dropped(1, 'invalid-record', error);
      return undefined;
    }
    if (body.length > config.maxMessageBytes) {
      // The broker would close the channel on it: retrying it would block the sink for good.
      this.#options.dropped(1, 'too-large');
      return undefined;
    }
    return body;
  }

  #connect(): Promise<Link> {
    if (this.#link) {
      return Promise.resolve(this.#link);
    }
    if (!this.#opening) {
      this.#opening = this.#open().finally(() => {
        this.#opening = undefined;
      });
    }
    return this.#opening;
  }

  async #open(): Promise<Link> {
    const { config, name, logger } = this.#options;
    const connection = await amqp.connect(config.connect, {
      timeout: config.connectTimeoutMs,
      clientProperties: { connection_name: `backstage-audit-log:${name}` },
    });
    let markClosed!: () => void;
    const closed = new Promise<void>(resolve => {
      markClosed = resolve;
    });
    // Errors are followed by 'close'; listening keeps them from crashing the process.
    connection.on('error', () => undefined);
    connection.on('close', () => markClosed());
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      channel.on('close', () => markClosed());
      // Exactly oslo.messaging's declarations: a different `durable` fails with 406.
      await channel.assertExchange(config.exchange, 'topic', {
        durable: config.durable,
        autoDelete: false,
      });
      if (config.declareQueue) {
        await channel.assertQueue(this.#routingKey, {
          durable: config.durable,
          autoDelete: false,
        });
        await channel.bindQueue(
          this.#routingKey,
          config.exchange,
          this.#routingKey,
        );
      }
      const link: Link = { connection, channel, closed };
      this.#link = link;
      logger.info(
        `AMQP sink ${name}: connected to ${config.endpoint}, exchange ${config.exchange}, routing key ${this.#routingKey}`,
      );
      closed.then(() => {
        if (this.#link === link) {
          this.#link = undefined;
          if (!this.#closing) {
            logger.warn(
              `AMQP sink ${name}: connection to ${config.endpoint} lost; reconnecting with the next delivery`,
            );
          }
        }
      });
      return link;
    } catch (error) {
      connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** Closes a link after a failure, without waiting on a broker that may be gone. */
  #drop(link: Link): void {
    if (this.#link === link) {
      this.#link = undefined;
    }
    link.connection.close().catch(() => undefined);
  }

  /** An error that names the sink and the endpoint, never the URL or its password. */
  #failed(what: string, error: unknown): Error {
    const { name, config } = this.#options;
    let reason = error instanceof Error ? error.message : String(error);
    const password = config.connect.password;
    if (password) {
      reason = reason.split(password).join('***');
    }
    return new Error(
      `AMQP sink ${name} (${config.endpoint}): ${what}: ${reason}`,
    );
  }
}

/** Rejects once the link closes; marked handled, so an unused one never surfaces. */
function rejectWhenClosed(link: Link, message: string): Promise<never> {
  const promise = link.closed.then(() => {
    throw new Error(message);
  });
  promise.catch(() => undefined);
  return promise;
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
