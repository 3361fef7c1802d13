import * as amqp from 'amqplib';
import { ConfigReader } from '@backstage/config';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  acquireBrokerLock,
  amqpUrl,
  createVhost,
  deleteVhost,
  Listener,
  notificationsOf,
  OPENSTACK_DIR,
  PythonProcess,
  rabbitUrl,
  ReceivedNotification,
  runId,
  startListener,
  waitForBroker,
} from '../../../test/openstack/harness';
import { AmqpTransport } from './amqp/AmqpTransport';
import { CadfFormat } from './cadf/CadfFormat';
import { readAmqpSinkConfig } from './config';
import { capturingLogger } from './__testUtils__/logger';
import { httpPair } from './__testUtils__/records';

/**
 * Side by side with the real thing: keystonemiddleware's audit middleware
 * (behind oslo.middleware's RequestId, as in OpenStack's API pipelines)
 * around a tiny WSGI app, publishing through oslo.messaging's messagingv2
 * driver, and our format and transport publishing records of comparable
 * Backstage requests; both read by the same oslo.messaging listener.
 * For each pair of comparable events, ours must carry every field its
 * events carry, with values of the same shape.
 *
 * keystone's auth_token middleware cannot run here (no Keystone server): the
 * requests carry the headers it would set, which is all the audit middleware
 * reads from it.
 */

const id = runId();
const vhost = `audit-cadf-km-${id}`;
const KM_PUBLISHER = `keystone-app-${id}`;
const OUR_PUBLISHER = `backstage-${id}`;
// A Backstage-like JWT: header.payload.signature. keystone masks it with pycadf's mask_value.
const SIGNATURE = `sig${id}SIGNATUREsignatureSIGNATUREsignatureSIGNATUREsignature`;
const JWT = `eyJhbGciOiJFUzI1NiJ9.${'eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYWxpY2UifQ'.repeat(8)}.${SIGNATURE}`;

let release: () => void;
let listener: Listener;
let app: PythonProcess<{ ready: number }>;
let tapConnection: amqp.ChannelModel;
const wire: Array<{
  properties: amqp.MessageProperties;
  routingKey: string;
  body: string;
}> = [];

interface Pair {
  what: string;
  keystone: { method: string; path: string; body?: string };
  ours: [AuditRecord, AuditRecord];
}

const uuid = (n: number) =>
  `4a1c6b2e-9d3f-4e8a-b7c5-${String(n).padStart(12, '0')}`;
const actor = {
  actorId: 'user:default/alice',
  ip: '::ffff:127.0.0.1',
  hostname: '::ffff:127.0.0.1',
  client: 'python-ironicclient',
  tokenFingerprint: 'sha256:5e884898da280471',
};

const pairs: Pair[] = [
  {
    what: 'a GET read',
    keystone: { method: 'GET', path: '/v1/things/abc?associated=True' },
    ours: httpPair({
      auditId: uuid(1),
      plugin: 'catalog',
      eventName: 'CatalogEntityFetchByName',
      method: 'GET',
      url: '/api/catalog/entities/by-name/component/default/abc?associated=True',
      status: 200,
      actor,
      meta: { entityRef: 'component:default/abc' },
    }),
  },
  {
    what: 'a POST create',
    keystone: { method: 'POST', path: '/v1/things', body: '{"thing": {}}' },
    ours: httpPair({
      auditId: uuid(2),
      plugin: 'catalog',
      eventName: 'CatalogLocationCreation',
      method: 'POST',
      url: '/api/catalog/locations',
      status: 201,
      actor,
      body: { type: 'url', target: 'https://example.com/catalog-info.yaml' },
    }),
  },
  {
    what: 'a failing request (404)',
    keystone: { method: 'GET', path: '/v1/things/missing' },
    ours: httpPair({
      auditId: uuid(3),
      plugin: 'catalog',
      eventName: 'CatalogEntityFetchByName',
      method: 'GET',
      url: '/api/catalog/entities/by-name/component/default/missing',
      status: 404,
      actor,
      errors: [{ name: 'NotFoundError', message: 'No entity named missing' }],
    }),
  },
  {
    what: 'a crashing handler',
    keystone: { method: 'POST', path: '/v1/boom', body: '{}' },
    ours: httpPair({
      auditId: uuid(4),
      plugin: 'catalog',
      eventName: 'CatalogLocationCreation',
      method: 'POST',
      url: '/api/catalog/locations',
      status: 500,
      actor,
      errors: [{ name: 'TypeError', message: 'handler crashed' }],
    }),
  },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The shape of a value: its type, and for strings the formats that matter. */
function kind(value: unknown): string {
  if (typeof value === 'string') {
    if (UUID.test(value)) return 'uuid';
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$/.test(value))
      return 'cadf-time';
    if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/.test(value))
      return 'oslo-time';
    if (/^\d+$/.test(value)) return 'digits';
    if (value.startsWith('correlation_id?value=')) return 'correlation-tag';
    return 'string';
  }
  if (Array.isArray(value)) return 'array';
  return value === null ? 'null' : typeof value;
}

/** Where `ours` lacks a field of `theirs`, or holds one of another shape. */
function missingOrDifferent(theirs: unknown, ours: unknown, at = ''): string[] {
  const k = kind(theirs);
  const o = kind(ours);
  // A plain string of theirs may be any string of ours (their request_id is `req-<uuid>`, ours a UUID).
  const compatible =
    k === o || (k === 'string' && ['uuid', 'digits', 'string'].includes(o));
  if (!compatible) return [`${at || '.'}: theirs ${k}, ours ${o}`];
  if (k === 'array') {
    const t = theirs as unknown[];
    const u = ours as unknown[];
    if (t.length && !u.length) return [`${at}: theirs has elements, ours none`];
    return t.flatMap((el, i) =>
      missingOrDifferent(el, u[Math.min(i, u.length - 1)], `${at}[${i}]`),
    );
  }
  if (k === 'object') {
    const t = theirs as Record<string, unknown>;
    const u = ours as Record<string, unknown>;
    return Object.keys(t).flatMap(key =>
      key in u
        ? missingOrDifferent(t[key], u[key], `${at}.${key}`)
        : [`${at}.${key}: missing in ours`],
    );
  }
  return [];
}

function byPublisher(publisher: string): ReceivedNotification[] {
  return notificationsOf(listener).filter(n => n.publisher_id === publisher);
}

beforeAll(async () => {
  release = await acquireBrokerLock();
  await waitForBroker();
  await createVhost(vhost);
  listener = await startListener({
    url: rabbitUrl(vhost),
    pool: `audit-cadf-km-${id}`,
  });
  tapConnection = await amqp.connect(amqpUrl(vhost));
  const tap = await tapConnection.createChannel();
  const q = await tap.assertQueue('', { exclusive: true });
  await tap.bindQueue(q.queue, 'openstack', 'notifications.*');
  await tap.consume(
    q.queue,
    m => {
      if (m)
        wire.push({
          properties: m.properties,
          routingKey: m.fields.routingKey,
          body: m.content.toString(),
        });
    },
    { noAck: true },
  );
  app = PythonProcess.start<{ ready: number }>('keystone_app.py', [
    '--transport-url',
    rabbitUrl(vhost),
    '--publisher-id',
    KM_PUBLISHER,
    '--audit-map',
    `${OPENSTACK_DIR}/maps/things_api_audit_map.conf`,
  ]);
  await app.waitFor(lines => lines.length > 0, 60_000, 'keystone_app.py start');

  const port = app.lines[0].ready;
  const catalog = [
    {
      type: 'portal',
      name: 'backstage',
      endpoints: [
        {
          id: '7d2c9e4a-1b3f-4a5d-8e6f-9a0b1c2d3e4f',
          publicURL: `http://127.0.0.1:${port}`,
          adminURL: `http://127.0.0.1:${port}`,
          internalURL: `http://127.0.0.1:${port}`,
        },
      ],
    },
  ];
  for (const { keystone } of pairs) {
    await fetch(`http://127.0.0.1:${port}${keystone.path}`, {
      method: keystone.method,
      body: keystone.body,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'python-ironicclient',
        // What keystone's auth_token middleware sets for a valid user token.
        'X-Auth-Token': JWT,
        'X-Identity-Status': 'Confirmed',
        'X-User-Id': '8c1a948bad3948929aa5d5b50627a174',
        'X-User-Name': 'alice',
        'X-Project-Id': 'd8f52dd7d9e1475dbbf3ba47a4a83313',
        'X-Service-Catalog': JSON.stringify(catalog),
      },
    });
  }
  await listener.waitFor(
    () => byPublisher(KM_PUBLISHER).length >= 8,
    60_000,
    "keystonemiddleware's events",
  );

  const logger = capturingLogger();
  const { sink } = readAmqpSinkConfig(
    new ConfigReader({ url: amqpUrl(vhost), publisherId: OUR_PUBLISHER }),
    'auditLog.sinks.openstack',
  );
  const transport = AmqpTransport.create({
    name: 'openstack',
    config: sink,
    logger,
    dropped: () => undefined,
  });
  const format = CadfFormat.create({
    baseUrl: 'http://portal.example.com:7007',
  });
  for (const { ours } of pairs) {
    await transport.deliver(
      ours.map(record => ({ record, line: format.render(record) })),
    );
  }
  await transport.close();
  await listener.waitFor(
    () => byPublisher(OUR_PUBLISHER).length >= 8,
    60_000,
    'our events',
  );
}, 180_000);

afterAll(async () => {
  await app?.stop();
  await tapConnection?.close().catch(() => undefined);
  await listener?.stop();
  await deleteVhost(vhost);
  release?.();
}, 60_000);

describe('side by side with keystonemiddleware', () => {
  it.each(pairs.map((p, i) => [p.what, i] as const))(
    '%s: our request and response events carry every field of its events, with values of the same shape',
    (_what, i) => {
      const theirs = byPublisher(KM_PUBLISHER).slice(2 * i, 2 * i + 2);
      const ours = byPublisher(OUR_PUBLISHER).slice(2 * i, 2 * i + 2);
      expect(theirs.map(n => n.event_type)).toEqual([
        'audit.http.request',
        'audit.http.response',
      ]);
      expect(ours.map(n => n.event_type)).toEqual([
        'audit.http.request',
        'audit.http.response',
      ]);
      for (const j of [0, 1]) {
        expect(ours[j].cadf).toMatchObject({ valid: true, warnings: [] });
        expect(theirs[j].cadf.valid).toBe(true);
        expect(missingOrDifferent(theirs[j].payload, ours[j].payload)).toEqual(
          [],
        );
        expect(
          missingOrDifferent(theirs[j].metadata, ours[j].metadata),
        ).toEqual([]);
        expect(ours[j].priority).toBe(theirs[j].priority);
        // The same vocabulary, value for value.
        for (const field of [
          'typeURI',
          'eventType',
          'action',
          'outcome',
          'observer',
        ] as const) {
          expect([field, ours[j].payload[field]]).toEqual([
            field,
            theirs[j].payload[field],
          ]);
        }
        expect(ours[j].payload.initiator.typeURI).toBe(
          theirs[j].payload.initiator.typeURI,
        );
        expect(ours[j].payload.initiator.credential?.identity_status).toBe(
          'Confirmed',
        );
      }
      // Both share one event id between the request and the response.
      expect(theirs[0].payload.id).toBe(theirs[1].payload.id);
      expect(ours[0].payload.id).toBe(ours[1].payload.id);
      // The response's reason and reporter chain (their crash has no response, hence no reason).
      if (theirs[1].payload.reason) {
        // eslint-disable-next-line jest/no-conditional-expect -- compared only where keystonemiddleware wrote one
        expect(ours[1].payload.reason).toEqual(theirs[1].payload.reason);
      }
      expect(
        ours[1].payload.reporterchain?.map(s => [s.role, s.reporter]),
      ).toEqual(
        theirs[1].payload.reporterchain?.map(s => [s.role, s.reporter]),
      );
    },
  );

  it('compares the requests it claims to: read, create, failure and a crash (unknown), on both sides', () => {
    const outcomes = (p: string) =>
      byPublisher(p)
        .filter(n => n.event_type === 'audit.http.response')
        .map(n => [n.payload.action, n.payload.outcome]);
    const expected = [
      ['read', 'success'],
      ['create', 'success'],
      ['read', 'failure'],
      ['create', 'unknown'],
    ];
    expect(outcomes(KM_PUBLISHER)).toEqual(expected);
    expect(outcomes(OUR_PUBLISHER)).toEqual(expected);
  });

  it('keeps no part of the token, where keystonemiddleware keeps both ends of it', () => {
    const theirs =
      byPublisher(KM_PUBLISHER)[0].payload.initiator.credential!.token;
    const ours =
      byPublisher(OUR_PUBLISHER)[0].payload.initiator.credential!.token;
    expect(theirs).toContain(' xxxxxxxx ');
    expect(JWT.endsWith(theirs.split(' xxxxxxxx ')[1])).toBe(true);
    expect(theirs.split(' xxxxxxxx ')[1].length).toBe(32);
    expect(ours).toBe(actor.tokenFingerprint);
    for (const n of byPublisher(OUR_PUBLISHER)) {
      expect(JSON.stringify(n)).not.toContain(SIGNATURE.slice(-16));
    }
  });

  it('publishes as oslo.messaging does: same exchange, routing key, message properties and message fields', () => {
    const decode = (m: (typeof wire)[number]) =>
      JSON.parse(JSON.parse(m.body)['oslo.message']);
    const theirs = wire.filter(m => decode(m).publisher_id === KM_PUBLISHER);
    const ours = wire.filter(m => decode(m).publisher_id === OUR_PUBLISHER);
    expect(theirs).toHaveLength(8);
    expect(ours).toHaveLength(8);
    const props = (m: (typeof wire)[number]) => ({
      routingKey: m.routingKey,
      contentType: m.properties.contentType,
      contentEncoding: m.properties.contentEncoding,
      deliveryMode: m.properties.deliveryMode,
      envelope: Object.keys(JSON.parse(m.body)).sort(),
    });
    expect(ours.map(props)).toEqual(theirs.map(props));
    // Every field of oslo's message but the service's request context (`_context_*`), which a portal has none of.
    const fields = (m: (typeof wire)[number]) =>
      Object.keys(decode(m))
        .filter(k => !k.startsWith('_context_'))
        .sort();
    expect(fields(ours[0])).toEqual(fields(theirs[0]));
  });
});
