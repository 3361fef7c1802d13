import * as amqp from 'amqplib';
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
import { osloTime } from '../cadf/time';
import { readAmqpSinkConfig } from '../config';
import { everyEventRecords } from '../__testUtils__/everyEvent';
import { capturingLogger } from '../__testUtils__/logger';
import { httpPair } from '../__testUtils__/records';
import { AmqpTransport } from './AmqpTransport';
import { osloEventType, osloMessageId } from './osloNotification';

/**
 * The amqp transport against the real RabbitMQ, judged by oslo.messaging's own
 * notification listener (cadf_listener.py) and pycadf. The pipeline is not
 * built yet: the tests hand the transport batches as it will, in order, one
 * deliver() at a time. A raw AMQP consumer (the "tap") on the same exchange
 * shows what went over the wire.
 */

const id = runId();
const vhost = `audit-cadf-transport-${id}`;
const PUBLISHER = `backstage.test-${id}`;
const format = CadfFormat.create({ baseUrl: 'http://localhost:7007' });
const entryOf = (record: AuditRecord): AuditSinkEntry => ({
  record,
  line: format.render(record),
});

interface Tapped {
  routingKey: string;
  exchange: string;
  properties: amqp.MessageProperties;
  body: string;
}

let release: () => void;
let listener: Listener;
let tapConnection: amqp.ChannelModel;
const tapped: Tapped[] = [];

function transport(
  extra: JsonObject = {},
  options: { dropped?: (count: number, reason: string) => void } = {},
) {
  const logger = capturingLogger();
  const { sink } = readAmqpSinkConfig(
    new ConfigReader({ url: amqpUrl(vhost), publisherId: PUBLISHER, ...extra }),
    'auditLog.sinks.openstack',
  );
  const t = AmqpTransport.create({
    name: 'openstack',
    config: sink,
    logger,
    dropped: options.dropped ?? (() => undefined),
  });
  return { transport: t, logger };
}

/** Delivers like the pipeline will: batches in order, one at a time. */
async function deliverInBatches(
  t: AmqpTransport,
  entries: AuditSinkEntry[],
  size: number,
) {
  for (let i = 0; i < entries.length; i += size) {
    await t.deliver(entries.slice(i, i + size));
  }
}

async function received(count: number): Promise<ReceivedNotification[]> {
  await listener.waitFor(
    () =>
      notificationsOf(listener).filter(n => n.publisher_id === PUBLISHER)
        .length >= count,
    30_000,
    `${count} notifications`,
  );
  return notificationsOf(listener).filter(n => n.publisher_id === PUBLISHER);
}

beforeAll(async () => {
  release = await acquireBrokerLock();
  await waitForBroker();
  await createVhost(vhost);
  listener = await startListener({
    url: rabbitUrl(vhost),
    pool: `audit-cadf-${id}`,
  });
  tapConnection = await amqp.connect(amqpUrl(vhost));
  const tap = await tapConnection.createChannel();
  const q = await tap.assertQueue('', { exclusive: true });
  await tap.bindQueue(q.queue, 'openstack', 'notifications.*');
  await tap.consume(
    q.queue,
    m => {
      if (m) {
        tapped.push({
          routingKey: m.fields.routingKey,
          exchange: m.fields.exchange,
          properties: m.properties,
          body: m.content.toString('utf8'),
        });
      }
    },
    { noAck: true },
  );
}, 120_000);

afterAll(async () => {
  await tapConnection?.close().catch(() => undefined);
  await listener?.stop();
  await deleteVhost(vhost);
  release?.();
}, 60_000);

describe('AmqpTransport on RabbitMQ, read by an unmodified oslo.messaging listener', () => {
  it('delivers every event as a notification the listener accepts and pycadf validates, in order', async () => {
    const records = everyEventRecords();
    const entries = records.map(entryOf);
    const { transport: t, logger } = transport();
    await deliverInBatches(t, entries, 7);
    const got = await received(entries.length);
    await t.close();

    expect(got).toHaveLength(entries.length);
    expect(listener.stderr()).not.toMatch(/Failed to process message/);
    got.forEach((n, i) => {
      const record = records[i];
      expect(n.cadf).toEqual({
        valid: true,
        errors: [],
        warnings: expect.any(Array),
      });
      // pycadf only warns about non-UUID ids, and only `unknown` (no actor) may be one.
      for (const w of n.cadf.warnings) {
        expect(w).toBe(
          'Invalid uuid: unknown. To ensure interoperability, identifiers should be a valid uuid.',
        );
      }
      expect(n.event_type).toBe(osloEventType(record));
      expect(n.priority).toBe('INFO');
      expect(n.metadata).toEqual({
        message_id: osloMessageId(entries[i], 'openstack'),
        timestamp: osloTime(record.timestamp),
      });
      expect(n.payload).toEqual(JSON.parse(entries[i].line));
      expect(n.payload.name).toBe(record.eventName);
    });

    // Every event of the map went over, and each request's two events share one id.
    const names = new Set(got.map(n => n.payload.name));
    expect(names.size).toBe(new Set(records.map(r => r.eventName)).size);
    const byCorrelation = new Map<string, ReceivedNotification[]>();
    for (const n of got) {
      const tag = n.payload.tags[0];
      byCorrelation.set(tag, [...(byCorrelation.get(tag) ?? []), n]);
    }
    const pairs = [...byCorrelation.values()].filter(p => p.length === 2);
    for (const pair of pairs) {
      expect(pair[0].payload.id).toBe(pair[1].payload.id);
      expect(pair[0].payload.outcome).toBe('pending');
      expect(pair[1].payload.outcome).not.toBe('pending');
      expect([pair[0].event_type, pair[1].event_type]).toEqual(
        pair[0].payload.requestPath
          ? ['audit.http.request', 'audit.http.response']
          : ['audit.scaffolder.start', 'audit.scaffolder.end'],
      );
    }
    const outcomes = got.map(n => n.payload.outcome);
    expect(new Set(outcomes)).toEqual(
      new Set(['pending', 'success', 'failure', 'unknown']),
    );
    expect(logger.lines.join('\n')).not.toContain('guest:guest');

    // On the wire: oslo's routing key, exchange and message properties.
    const ours = tapped.filter(m => m.body.includes(PUBLISHER));
    expect(ours).toHaveLength(entries.length);
    for (const m of ours) {
      expect(m.exchange).toBe('openstack');
      expect(m.routingKey).toBe('notifications.info');
      expect(m.properties.contentType).toBe('application/json');
      expect(m.properties.contentEncoding).toBe('utf-8');
      expect(m.properties.deliveryMode).toBe(2);
      const envelope = JSON.parse(m.body);
      expect(Object.keys(envelope)).toEqual(['oslo.version', 'oslo.message']);
      expect(typeof envelope['oslo.message']).toBe('string');
    }
  });

  it("declares oslo.messaging's exchange and default queue, not durable, not auto-deleted", async () => {
    const exchanges = await rabbitmqctl(
      'list_exchanges',
      '-p',
      vhost,
      'name',
      'type',
      'durable',
      'auto_delete',
    );
    expect(exchanges).toMatch(/^openstack\ttopic\tfalse\tfalse$/m);
    const queues = await rabbitmqctl(
      'list_queues',
      '-p',
      vhost,
      'name',
      'durable',
      'auto_delete',
    );
    expect(queues).toMatch(/^notifications\.info\tfalse\tfalse$/m);
    const bindings = await rabbitmqctl(
      'list_bindings',
      '-p',
      vhost,
      'source_name',
      'destination_name',
      'routing_key',
    );
    expect(bindings).toMatch(
      /^openstack\tnotifications\.info\tnotifications\.info$/m,
    );
  });

  it('redelivers a batch with the same message ids, and the oslo listener drops the copies it has acknowledged', async () => {
    const { transport: t } = transport();
    const batch = httpPair({
      auditId: `d0d0d0d0-0000-4000-8000-${id}00`,
      plugin: 'catalog',
      eventName: 'CatalogEntityDeletion',
      method: 'DELETE',
      url: '/api/catalog/entities/by-uid/u-1',
      status: 204,
    }).map(entryOf);
    const [sentinel] = httpPair({
      auditId: `d0d0d0d0-0000-4000-8000-${id}01`,
      plugin: 'catalog',
      eventName: 'CatalogEntityFetch',
      method: 'GET',
      url: '/api/catalog/entities',
      status: 200,
    }).map(entryOf);
    const ids = [...batch, sentinel].map(e => osloMessageId(e, 'openstack'));
    const ours = () =>
      tapped
        .map(m => JSON.parse(JSON.parse(m.body)['oslo.message']).message_id)
        .filter(m => ids.includes(m));
    const handed = () =>
      notificationsOf(listener)
        .map(n => n.metadata.message_id)
        .filter(m => ids.includes(m));

    await t.deliver(batch);
    await listener.waitFor(() => handed().length === 2, 30_000, 'the batch');
    // As after a lost confirmation: after its backoff, the pipeline hands the same batch again.
    await new Promise(r => setTimeout(r, 500));
    await t.deliver(batch);
    await t.deliver([sentinel]);
    // In queue order: once the sentinel is handed over, the copies were seen.
    await listener.waitFor(
      () => handed().includes(ids[2]),
      30_000,
      'the sentinel',
    );
    await t.close();

    // Four copies went over the wire, with the same ids...
    expect(ours()).toEqual([ids[0], ids[1], ids[0], ids[1], ids[2]]);
    // ...and the listener handed each over once: oslo dropped the copies by their _unique_id.
    expect(handed()).toEqual(ids);
    expect(listener.stderr()).toMatch(/ignoring duplicate message/);
  });

  it('drops and counts what the broker can never take, and delivers the rest of the batch', async () => {
    const drops: string[] = [];
    const { transport: t } = transport(
      { maxMessageBytes: 4096 },
      { dropped: (count, reason) => drops.push(`${count} ${reason}`) },
    );
    const [small] = httpPair({
      auditId: `f0f0f0f0-0000-4000-8000-${id}00`,
      plugin: 'catalog',
      eventName: 'CatalogEntityRefresh',
      method: 'POST',
      url: '/api/catalog/refresh',
      status: 200,
    });
    const big = {
      ...small,
      auditId: `f0f0f0f0-0000-4000-8000-${id}01`,
      meta: { blob: 'x'.repeat(5000) },
    };
    await t.deliver([
      entryOf(big),
      { record: small, line: 'not json at all' },
      entryOf(small),
    ]);
    const tags = [big, small].map(r => `correlation_id?value=${r.auditId}`);
    const mine = () =>
      notificationsOf(listener).filter(n => tags.includes(n.payload.tags[0]));
    await listener.waitFor(() => mine().length >= 1, 30_000, 'the small one');
    await t.close();
    expect(drops).toEqual(['1 too-large', '1 not-json']);
    expect(mine().map(n => n.payload.tags[0])).toEqual([tags[1]]);
    expect(tapped.filter(m => m.body.includes(big.auditId))).toEqual([]);
  });

  it('rejects while it cannot reach or log in to the broker, never showing the password', async () => {
    const CANARY = `canary-amqp-password-${id}`;
    const bad = transport({
      url: `amqp://guest:${CANARY}@127.0.0.1:5672/${vhost}`,
    });
    const entries = [
      entryOf(
        httpPair({
          auditId: 'x1',
          plugin: 'catalog',
          eventName: 'CatalogEntityFetch',
          method: 'GET',
          url: '/api/catalog/entities',
          status: 200,
        })[0],
      ),
    ];
    const error = (await bad.transport.deliver(entries).then(
      () => undefined,
      e => e,
    )) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(
      /^AMQP sink openstack \(127\.0\.0\.1:5672\/audit-cadf-transport-\w+\): cannot connect: .*ACCESS.REFUSED/,
    );
    expect(`${error.message}\n${error.stack}`).not.toContain(CANARY);
    expect(bad.logger.lines.join('\n')).not.toContain(CANARY);

    const down = transport({ url: 'amqp://guest:guest@127.0.0.1:1/' });
    await expect(down.transport.deliver(entries)).rejects.toThrow(
      /cannot connect: .*ECONNREFUSED/,
    );
  });

  it("rejects when the broker refuses the exchange's declaration (durable against oslo's non-durable: 406)", async () => {
    const { transport: t } = transport({ durable: true });
    const entries = [
      entryOf(
        httpPair({
          auditId: 'x2',
          plugin: 'catalog',
          eventName: 'CatalogEntityFetch',
          method: 'GET',
          url: '/api/catalog/entities',
          status: 200,
        })[0],
      ),
    ];
    await expect(t.deliver(entries)).rejects.toThrow(/PRECONDITION_FAILED|406/);
    // The exchange stays as oslo declared it.
    const exchanges = await rabbitmqctl(
      'list_exchanges',
      '-p',
      vhost,
      'name',
      'durable',
    );
    expect(exchanges).toMatch(/^openstack\tfalse$/m);
  });

  it('closes its connection on close(), and refuses deliveries after', async () => {
    const { transport: t } = transport();
    const entries = [
      entryOf(
        httpPair({
          auditId: 'x3',
          plugin: 'catalog',
          eventName: 'CatalogEntityFetch',
          method: 'GET',
          url: '/api/catalog/entities',
          status: 200,
        })[0],
      ),
    ];
    await t.deliver(entries);
    const named = async () =>
      (
        await rabbitmqctl('list_connections', '-p', vhost, 'client_properties')
      ).includes('backstage-audit-log:openstack');
    expect(await named()).toBe(true);
    await t.close();
    for (let i = 0; i < 20 && (await named()); i++) {
      await new Promise(r => setTimeout(r, 100));
    }
    expect(await named()).toBe(false);
    await expect(t.deliver(entries)).rejects.toThrow(
      'AMQP sink openstack is closed',
    );
  });
});
