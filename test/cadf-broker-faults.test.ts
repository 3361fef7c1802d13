/**
 * Broker faults through the real pipeline, in the amqp sink's default
 * delivery mode (`best-effort`: a bounded queue, batches, retries with
 * backoff, in order). The real catalog runs in-process (startTestBackend)
 * with the CADF module added as adopters add it, and two amqp sinks to the
 * real RabbitMQ:
 *
 * - `openstack`: the default queue bound (10,000 records): it must lose
 *   nothing;
 * - `small`: `queue.maxRecords: 20`: it may drop, but only past its bound,
 *   and every drop is counted, exactly.
 *
 * Both declare the exchange and queue durable, and oslo.messaging's own
 * listener runs with `amqp_durable_queues`, as a deployment that wants
 * notifications to survive a broker restart configures both sides: with
 * oslo's non-durable defaults a restart empties the queues, whoever wrote
 * them (the README says so). The listener consumes oslo's default queue
 * (`notifications.info`), which the sinks declare too, so it reads both
 * sinks' notifications of the same records: each sink's must be messages of
 * their own (oslo's listener drops a message whose `_unique_id` it has just
 * acknowledged, and leaves it unacknowledged).
 *
 * Faults, while requests keep coming: the broker closes every connection
 * (`rabbitmqctl close_all_connections`), once while a batch waits for its
 * confirmations (publishing blocked by a memory alarm), twice between
 * batches; then the broker's app is stopped and started
 * (`stop_app`/`start_app`). The counts are read from the pipeline's stats
 * (a probe module depending on `auditLogServiceRef`) and from OpenTelemetry.
 */
import request from 'supertest';
import {
  AuditLogService,
  AuditRecord,
} from '@backstage-audit/plugin-audit-log-node';
import cadfModule from '@backstage-audit/plugin-audit-log-backend-module-cadf';
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
} from './openstack/harness';
import {
  alice,
  AuditedBackend,
  startAuditedBackend,
  waitForEntity,
} from './support/auditedBackend';
import { auditLogProbe, installMetricReader } from './support/pipelineProbes';

const metric = installMetricReader();

let auditLog: AuditLogService;
const probe = auditLogProbe(audit => {
  auditLog = audit;
}, 'test-cadf-faults-probe');

const id = runId();
const vhost = `audit-cadf-pipeline-faults-${id}`;
const BIG = `backstage.faults-big-${id}`;
const SMALL = `backstage.faults-small-${id}`;
const SMALL_BOUND = 20;

let release: () => void;
let listener: Listener;
let backend: AuditedBackend;
let watermark = '0.4';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function get(found: boolean): Promise<string> {
  const name = found ? 'payments-api' : 'no-such-component';
  const res = await request(backend.server)
    .get(`/api/catalog/entities/by-name/component/default/${name}`)
    .set('Authorization', alice());
  expect(res.status).toBe(found ? 200 : 404);
  return res.headers['audit-id'] as string;
}

async function closeAllConnections(): Promise<void> {
  await rabbitmqctl(
    'close_all_connections',
    '--vhost',
    vhost,
    '--limit',
    '100',
    'audit-cadf pipeline fault test',
  );
}

async function restoreWatermark(): Promise<void> {
  await rabbitmqctl('set_vm_memory_high_watermark', ...watermark.split(' '));
}

function received(publisher: string): ReceivedNotification[] {
  return notificationsOf(listener).filter(n => n.publisher_id === publisher);
}

function distinct(publisher: string): number {
  return new Set(received(publisher).map(n => n.metadata.message_id)).size;
}

/** The record a notification stands for: correlation id, event name, stage. */
function keyOf(n: ReceivedNotification): string {
  const tag = n.payload.tags.find(t => t.startsWith('correlation_id?value='));
  const stage = n.payload.outcome === 'pending' ? 'initiation' : 'completion';
  return `${tag?.slice('correlation_id?value='.length)} ${n.payload.name} ${stage}`;
}

const recordKey = (r: AuditRecord) => `${r.auditId} ${r.eventName} ${r.stage}`;

/**
 * The notifications of `publisher` for these auditIds, first occurrences in
 * arrival order; fails if a repeated message is not an exact copy of its
 * first occurrence (a retried batch publishes the same message again).
 */
function firstOccurrences(publisher: string, auditIds: Set<string>): string[] {
  const seen = new Map<string, string>();
  const keys: string[] = [];
  for (const n of received(publisher)) {
    if (!auditIds.has(keyOf(n).split(' ')[0])) continue;
    const body = JSON.stringify(n.payload);
    const first = seen.get(n.metadata.message_id);
    if (first !== undefined) {
      expect(body).toBe(first);
      continue;
    }
    seen.set(n.metadata.message_id, body);
    keys.push(keyOf(n));
  }
  return keys;
}

async function waitForListener(
  publisher: string,
  count: number,
): Promise<void> {
  try {
    await listener.waitFor(
      () => distinct(publisher) >= count,
      120_000,
      `${count} distinct notifications from ${publisher}`,
    );
  } catch (error) {
    const queues = await rabbitmqctl(
      'list_queues',
      '-p',
      vhost,
      'name',
      'messages_ready',
      'messages_unacknowledged',
      'consumers',
    ).catch(e => String(e));
    throw new Error(
      `${publisher}: ${distinct(publisher)} of ${count} received; queues:\n${queues}\n${(error as Error).message.slice(0, 3000)}`,
    );
  }
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
  const absolute = /^\{absolute,(\d+)\}$/.exec(current);
  watermark = absolute ? `absolute ${absolute[1]}` : current;
  await createVhost(vhost);
  listener = await startListener({ url: rabbitUrl(vhost), durable: true });
  const sink = (publisherId: string, queue: object) => ({
    type: 'amqp',
    url: amqpUrl(vhost),
    publisherId,
    durable: true,
    queue: { maxRetryDelayMs: 500, ...queue },
  });
  backend = await startAuditedBackend({
    auditLog: {
      sinks: {
        openstack: sink(BIG, {}),
        small: sink(SMALL, { maxRecords: SMALL_BOUND, batchSize: 5 }),
      },
    },
    features: [cadfModule, probe],
  });
  await waitForEntity(backend.server, 'component:default/payments-api');
}, 180_000);

afterAll(async () => {
  // Whatever happened, the shared broker is left running and accepting publishers.
  await restoreWatermark().catch(() => undefined);
  await rabbitmqctl('start_app').catch(() => undefined);
  await backend?.stop();
  await listener?.stop();
  await deleteVhost(vhost);
  release?.();
}, 120_000);

describe('the amqp sink through the pipeline under broker faults (default delivery mode)', () => {
  it('connections closed by the broker while requests keep coming: every record reaches the listener, in order, copies only of retried batches', async () => {
    const auditIds = new Set<string>();
    let running = true;
    const workers = Array.from({ length: 3 }, async (_, w) => {
      for (let i = 0; running; i++) {
        auditIds.add(await get((i + w) % 3 !== 0));
      }
    });
    const retriedBefore = auditLog.stats().sinks.openstack.retried;
    try {
      await sleep(1000);
      // Publishing blocked: the batch now being sent waits for confirmations, and the closure lands on it.
      await rabbitmqctl('set_vm_memory_high_watermark', '0');
      await sleep(500);
      await closeAllConnections();
      await restoreWatermark();
      await sleep(1500);
      await closeAllConnections();
      await sleep(1500);
      await closeAllConnections();
      await sleep(1000);
    } finally {
      running = false;
      await Promise.all(workers);
      await restoreWatermark();
    }
    await auditLog.flush(60_000);
    const stats = auditLog.stats().sinks.openstack;
    expect(stats.queued).toBe(0);
    expect(stats.dropped).toEqual({});
    expect(stats.retried).toBeGreaterThan(retriedBefore);

    const printed = backend
      .records()
      .filter(r => auditIds.has(r.auditId))
      .map(recordKey);
    expect(printed.length).toBe(auditIds.size * 2);
    expect(auditIds.size).toBeGreaterThan(30);
    await waitForListener(BIG, stats.delivered);
    expect(firstOccurrences(BIG, auditIds)).toEqual(printed);
    expect(distinct(BIG)).toBe(stats.delivered);
    expect(received(BIG).filter(n => !n.cadf.valid)).toEqual([]);
  }, 240_000);

  it('the broker stopped and started while requests keep coming: the default queue loses nothing; a queue of 20 drops exactly what arrived past its bound, and counts it', async () => {
    await auditLog.flush(60_000);
    const before = auditLog.stats();
    expect(before.sinks.openstack.queued).toBe(0);
    expect(before.sinks.small.queued).toBe(0);
    const droppedMetricBefore = await metric('audit_log.sink.dropped', {
      sink: 'small',
      reason: 'queue-full',
    });

    await rabbitmqctl('stop_app');
    const outage: string[] = [];
    let restarted = false;
    try {
      // 25 requests, 50 records, while nothing can reach the broker.
      for (let i = 0; i < 25; i++) {
        outage.push(await get(i % 4 !== 0));
      }
      const during = auditLog.stats();
      expect(during.emitted - before.emitted).toBe(50);
      expect(during.sinks.small.queued).toBe(SMALL_BOUND);
      expect(during.sinks.openstack.queued).toBe(50);
    } finally {
      await rabbitmqctl('start_app');
      restarted = true;
    }
    expect(restarted).toBe(true);
    await waitForBroker();
    await auditLog.flush(60_000);
    const recovered = auditLog.stats();
    const smallDropped = (s: typeof before) =>
      s.sinks.small.dropped['queue-full'] ?? 0;
    // Exactly the 30 records that arrived with 20 already queued.
    expect(smallDropped(recovered) - smallDropped(before)).toBe(
      50 - SMALL_BOUND,
    );
    expect(recovered.sinks.small.delivered - before.sinks.small.delivered).toBe(
      SMALL_BOUND,
    );
    expect(
      recovered.sinks.openstack.delivered - before.sinks.openstack.delivered,
    ).toBe(50);
    expect(recovered.sinks.openstack.dropped).toEqual({});
    expect(
      (await metric('audit_log.sink.dropped', {
        sink: 'small',
        reason: 'queue-full',
      })) - droppedMetricBefore,
    ).toBe(50 - SMALL_BOUND);

    // Requests after the recovery go through both sinks again.
    const after: string[] = [];
    for (let i = 0; i < 5; i++) {
      after.push(await get(true));
    }
    await auditLog.flush(60_000);
    const end = auditLog.stats();
    expect(end.sinks.small.delivered - recovered.sinks.small.delivered).toBe(
      10,
    );
    expect(smallDropped(end)).toBe(smallDropped(recovered));

    const printed = (ids: string[]) => {
      const set = new Set(ids);
      return backend
        .records()
        .filter(r => set.has(r.auditId))
        .map(recordKey);
    };
    const outageRecords = printed(outage);
    expect(outageRecords).toHaveLength(50);
    const all = new Set([...outage, ...after]);
    await waitForListener(BIG, end.sinks.openstack.delivered);
    await waitForListener(SMALL, end.sinks.small.delivered);
    // The default queue: everything, in order.
    expect(firstOccurrences(BIG, all)).toEqual(printed([...outage, ...after]));
    // The small one: the first 20 of the outage (queued), none of the 30 behind them, then everything after.
    expect(firstOccurrences(SMALL, all)).toEqual([
      ...outageRecords.slice(0, SMALL_BOUND),
      ...printed(after),
    ]);

    // Over the whole run, each sink's counts add up: every record emitted was
    // delivered to the listener or counted as dropped, nothing else.
    await sleep(500);
    for (const [sink, publisher] of [
      ['openstack', BIG],
      ['small', SMALL],
    ] as const) {
      const s = end.sinks[sink];
      const drops = Object.values(s.dropped).reduce((a, b) => a + b, 0);
      expect([sink, s.delivered + drops + s.queued]).toEqual([
        sink,
        end.emitted,
      ]);
      expect([sink, distinct(publisher)]).toEqual([sink, s.delivered]);
    }
    expect(received(SMALL).filter(n => !n.cadf.valid)).toEqual([]);
  }, 240_000);
});
