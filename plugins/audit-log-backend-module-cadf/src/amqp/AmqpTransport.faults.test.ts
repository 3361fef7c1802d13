import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import type {
  AuditRecord,
  AuditSinkEntry,
} from '@backstage-audit/plugin-audit-log-node';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  acquireBrokerLock,
  amqpUrl,
  createVhost,
  deleteVhost,
  Listener,
  notificationsOf,
  rabbitmqctl,
  rabbitUrl,
  ReceivedNotification,
  runId,
  startListener,
  waitForBroker,
} from '../../../../test/openstack/harness';
import { CadfFormat } from '../cadf/CadfFormat';
import { readAmqpSinkConfig } from '../config';
import { capturingLogger } from '../__testUtils__/logger';
import { httpPair } from '../__testUtils__/records';
import { AmqpTransport } from './AmqpTransport';
import { osloMessageId } from './osloNotification';

/**
 * Broker faults at the transport level, on the real RabbitMQ, read by
 * oslo.messaging's own listener. The pipeline is not built yet, so each test
 * runs its retry loop explicitly, as the pipeline will: batches in order, one
 * deliver() at a time, a rejected batch retried with backoff until it goes
 * through.
 *
 * The listener consumes oslo's default queue (`notifications.info`, no pool),
 * the queue the transport declares too: after a broker restart, what is
 * published before the listener has reconnected waits there for it.
 *
 * These tests block publishing on the whole broker (a memory alarm) and stop
 * its app for a few seconds; they hold the RabbitMQ test lock meanwhile.
 */

const id = runId();
const vhost = `audit-cadf-faults-${id}`;
const format = CadfFormat.create();
let release: () => void;
let listener: Listener;
let watermark = '0.4';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function setup(publisherId: string, extra: JsonObject = {}) {
  const logger = capturingLogger();
  const { sink } = readAmqpSinkConfig(
    new ConfigReader({ url: amqpUrl(vhost), publisherId, ...extra }),
    'auditLog.sinks.openstack',
  );
  const transport = AmqpTransport.create({
    name: 'openstack',
    config: sink,
    logger,
    dropped: () => {
      throw new Error('nothing may be dropped here');
    },
  });
  return { transport, logger };
}

function batchesOf(prefix: string, pairs: number, size: number) {
  const entries: AuditSinkEntry[] = [];
  for (let i = 0; i < pairs; i++) {
    for (const record of httpPair({
      auditId: `${prefix}-${String(i).padStart(4, '0')}`,
      plugin: 'catalog',
      eventName: 'CatalogEntityFetchByName',
      method: 'GET',
      url: `/api/catalog/entities/by-name/component/default/c${i}`,
      status: 200,
    })) {
      entries.push({ record, line: format.render(record as AuditRecord) });
    }
  }
  const batches: AuditSinkEntry[][] = [];
  for (let i = 0; i < entries.length; i += size) {
    batches.push(entries.slice(i, i + size));
  }
  return { entries, batches };
}

/** The pipeline's loop: each batch, in order, retried with backoff until delivered. */
async function pipeline(
  transport: AmqpTransport,
  batches: AuditSinkEntry[][],
  afterBatch: (index: number) => Promise<void> | void = () => undefined,
): Promise<Error[]> {
  const rejections: Error[] = [];
  for (const [index, batch] of batches.entries()) {
    for (let attempt = 0; ; attempt++) {
      try {
        await transport.deliver(batch);
        break;
      } catch (error) {
        rejections.push(error as Error);
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
    await afterBatch(index);
  }
  return rejections;
}

function received(publisherId: string): ReceivedNotification[] {
  return notificationsOf(listener).filter(n => n.publisher_id === publisherId);
}

/**
 * Nothing lost, nothing reordered: the notifications' first occurrences are
 * exactly the entries in the order sent; any extra is a copy of an entry
 * (same message id) that a retried batch published again.
 */
async function expectAllInOrder(
  publisherId: string,
  entries: AuditSinkEntry[],
) {
  const sent = entries.map(e => osloMessageId(e, 'openstack'));
  await listener.waitFor(
    () =>
      new Set(received(publisherId).map(n => n.metadata.message_id)).size >=
      sent.length,
    90_000,
    `${sent.length} notifications of ${publisherId}`,
  );
  const got = received(publisherId).map(n => n.metadata.message_id);
  const firsts = got.filter((m, i) => got.indexOf(m) === i);
  expect(firsts).toEqual(sent);
  expect(got.every(m => sent.includes(m))).toBe(true);
  expect(received(publisherId).every(n => n.cadf.valid)).toBe(true);
  return got.length - firsts.length;
}

async function restoreWatermark() {
  await rabbitmqctl('set_vm_memory_high_watermark', ...watermark.split(' '));
}

beforeAll(async () => {
  release = await acquireBrokerLock();
  await waitForBroker();
  const current = (
    await rabbitmqctl(
      'eval',
      'vm_memory_monitor:get_vm_memory_high_watermark().',
    )
  ).trim();
  // A relative value (0.4) or {absolute,Bytes}: restored as it was.
  const absolute = /^\{absolute,(\d+)\}$/.exec(current);
  watermark = absolute ? `absolute ${absolute[1]}` : current;
  await createVhost(vhost);
  listener = await startListener({ url: rabbitUrl(vhost) });
}, 120_000);

afterAll(async () => {
  // Whatever happened, the shared broker is left accepting publishers.
  await restoreWatermark().catch(() => undefined);
  await rabbitmqctl('start_app').catch(() => undefined);
  await listener?.stop();
  await deleteVhost(vhost);
  release?.();
}, 120_000);

describe('AmqpTransport under broker faults', () => {
  it('connections closed by the broker (close_all_connections): the batch in flight is rejected, retried after reconnecting, nothing lost or reordered', async () => {
    const publisher = `faults-close-${id}`;
    const { transport, logger } = setup(publisher);
    const { entries, batches } = batchesOf(`c-${id}`, 60, 4);
    let inFlight: Promise<void> | undefined;
    const rejections = await pipeline(transport, batches, async index => {
      if (index === 9) {
        // Publishing blocked (memory alarm): the next batch waits for confirmations that cannot
        // come, and the closure below lands while it is in flight.
        await rabbitmqctl('set_vm_memory_high_watermark', '0');
        inFlight = (async () => {
          await sleep(300);
          await rabbitmqctl(
            'close_all_connections',
            '--vhost',
            vhost,
            '--limit',
            '100',
            'audit-cadf fault test',
          );
          await restoreWatermark();
        })();
      }
      if (index === 20) {
        await inFlight;
        // Closed between two deliveries: the next one finds the connection gone.
        await rabbitmqctl(
          'close_all_connections',
          '--vhost',
          vhost,
          '--limit',
          '100',
          'audit-cadf fault test',
        );
        await sleep(200);
      }
    });
    await transport.close();

    expect(rejections.length).toBeGreaterThanOrEqual(1);
    expect(rejections[0].message).toMatch(
      /^AMQP sink openstack \(.*\): delivery failed: (connection|channel) closed/,
    );
    expect(
      logger.lines.filter(l => l.includes(': connected to')).length,
    ).toBeGreaterThanOrEqual(3);
    expect(
      logger.lines.some(
        l => l.startsWith('warn') && l.includes('lost; reconnecting'),
      ),
    ).toBe(true);
    for (const line of [...logger.lines, ...rejections.map(e => e.message)]) {
      expect(line).not.toContain('guest:guest');
    }
    await expectAllInOrder(publisher, entries);
  }, 180_000);

  it('a broker that stops confirming (resource alarm): the delivery is rejected after confirmTimeoutMs instead of hanging, and goes through once the broker recovers', async () => {
    const publisher = `faults-blocked-${id}`;
    const { transport } = setup(publisher, { confirmTimeoutMs: 1500 });
    const { entries, batches } = batchesOf(`b-${id}`, 10, 5);
    await transport.deliver(batches[0]);
    await rabbitmqctl('set_vm_memory_high_watermark', '0');
    const started = Date.now();
    let rejections: Error[] = [];
    try {
      const error = await transport.deliver(batches[1]).then(
        () => undefined,
        e => e as Error,
      );
      expect(error?.message).toContain(
        'no confirmation from the broker within 1500 ms',
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await restoreWatermark();
    }
    rejections = await pipeline(transport, batches.slice(1));
    await transport.close();
    expect(rejections).toEqual([]);
    await expectAllInOrder(publisher, entries);
  }, 120_000);

  it('the broker stopped and started (stop_app / start_app): deliveries are rejected during the outage, then the retried batches go through, nothing lost or reordered', async () => {
    const publisher = `faults-restart-${id}`;
    const { transport, logger } = setup(publisher);
    const { entries, batches } = batchesOf(`r-${id}`, 40, 4);
    const before = batches.slice(0, 8);
    const after = batches.slice(8);
    expect(await pipeline(transport, before)).toEqual([]);
    // A stopped broker loses what its non-durable queues hold (oslo's defaults): let the
    // listener read everything first, so any loss below is the transport's.
    await listener.waitFor(
      () => received(publisher).length >= before.flat().length,
      30_000,
      'notifications before the outage',
    );

    await rabbitmqctl('stop_app');
    let restarted: Promise<void> | undefined;
    const rejections = await (async () => {
      const failures: Error[] = [];
      const start = setTimeout(() => {
        restarted = rabbitmqctl('start_app').then(() => undefined);
      }, 2500);
      try {
        failures.push(
          ...(await pipeline(transport, after.slice(0, 1), () => undefined)),
        );
      } finally {
        clearTimeout(start);
      }
      return failures;
    })();
    await restarted;
    await waitForBroker();
    expect(await pipeline(transport, after.slice(1))).toEqual([]);
    await transport.close();

    expect(rejections.length).toBeGreaterThanOrEqual(1);
    expect(rejections.map(e => e.message).join('\n')).toMatch(
      /cannot connect: .*(ECONNREFUSED|ECONNRESET|closed)/,
    );
    expect(logger.lines.filter(l => l.includes(': connected to')).length).toBe(
      2,
    );
    await expectAllInOrder(publisher, entries);
  }, 180_000);
});
