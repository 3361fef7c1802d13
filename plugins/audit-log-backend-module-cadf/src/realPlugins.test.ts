import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import {
  coreServices,
  createBackendModule,
  DatabaseService,
  SchedulerService,
  ServiceFactory,
} from '@backstage/backend-plugin-api';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  alice,
  AuditedBackend,
  EXAMPLES,
  mallory,
  nobody,
  startAuditedBackend,
  waitForEntity,
} from '../../../test/support/auditedBackend';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  acquireBrokerLock,
  amqpUrl,
  createVhost,
  deleteVhost,
  Listener,
  notificationsOf,
  rabbitUrl,
  runId,
  startListener,
  waitForBroker,
} from '../../../test/openstack/harness';
import { AmqpTransport } from './amqp/AmqpTransport';
import { osloMessageId } from './amqp/osloNotification';
import { defaultCadfAuditMap } from './auditMap/defaultCadfAuditMap';
import { CadfFormat } from './cadf/CadfFormat';
import { readAmqpSinkConfig } from './config';
import { capturingLogger } from './__testUtils__/logger';

/**
 * Every catalog, scaffolder and audit-log event, driven on the real plugins
 * (startTestBackend, in-memory SQLite, the audit log installed as adopters
 * install it), as CADF on the real RabbitMQ, read by oslo.messaging's own
 * listener and validated by pycadf.
 *
 * The pipeline does not yet hand records to sinks of other types: this test
 * takes the records the backend writes to stdout and hands them, in order and
 * in batches, to the format and the transport as the pipeline will.
 *
 * Canary secrets go into request bodies, query strings and headers; none may
 * reach a notification.
 */

const id = runId();
const vhost = `audit-cadf-real-${id}`;
const PUBLISHER = `backstage-real-${id}`;
const CANARY = `canary-cadf-${id}`;
const HELLO = 'template:default/hello-audit';
const template = parse(
  fs.readFileSync(path.join(EXAMPLES, 'templates/hello/template.yaml'), 'utf8'),
);

// The janitor's schedule is triggered by hand (a MockSchedulerService).
const scheduler = mockServices.scheduler() as unknown as SchedulerService & {
  factory(options: { skipTaskRunOnStartup: boolean }): ServiceFactory;
};
let database: DatabaseService | undefined;
const scaffolderDatabase = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'test-database-cadf',
  register(reg) {
    reg.registerInit({
      deps: { db: coreServices.database },
      async init({ db }) {
        database = db;
      },
    });
  },
});

let release: () => void;
let listener: Listener;
let backend: AuditedBackend;
let records: AuditRecord[] = [];

/** The CADF outcome keystonemiddleware would give the record. */
function expectedOutcome(r: AuditRecord): string {
  if (r.stage === 'initiation') return 'pending';
  if (r.status === 'succeeded') return 'success';
  return r.errors?.length && r.response?.status === 500 ? 'unknown' : 'failure';
}

async function call(
  method: 'get' | 'post' | 'put' | 'delete',
  url: string,
  body?: object,
  auth = alice(),
) {
  const req = request(backend.server)
    [method](url)
    .set('Authorization', auth)
    .set('Cookie', `session=${CANARY}`)
    .set('X-Api-Key', CANARY);
  const res = body ? await req.send(body) : await req;
  const auditId = res.headers['audit-id'] as string | undefined;
  if (auditId) {
    await backend.completion(auditId);
  }
  return res;
}

async function waitForTask(taskId: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await request(backend.server)
      .get(`/api/scaffolder/v2/tasks/${taskId}`)
      .set('Authorization', alice());
    if (['completed', 'failed', 'cancelled'].includes(res.body.status)) {
      return;
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`task ${taskId} never finished`);
}

/** Drives one request per route of both tables, a task run, a dry run, the janitor and the audit log's own API. */
async function driveEverything() {
  const worker = await call(
    'get',
    '/api/catalog/entities/by-name/component/default/payments-worker',
  );
  const uid = worker.body.metadata.uid as string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-cadf-'));
  const file = path.join(dir, 'catalog-info.yaml');
  fs.writeFileSync(
    file,
    'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: cadf-new}\nspec: {type: service, lifecycle: experimental, owner: platform-team}\n',
  );

  await call('get', '/api/catalog/entities?filter=kind=component');
  await call(
    'get',
    '/api/catalog/entities/by-query?filter=kind=component&limit=1',
  );
  await call('post', '/api/catalog/entities/by-query', {
    query: { kind: 'component' },
  });
  await call('get', `/api/catalog/entities/by-uid/${uid}`);
  await call(
    'get',
    `/api/catalog/entities/by-name/component/default/payments-api?token=${CANARY}`,
  );
  await call(
    'get',
    '/api/catalog/entities/by-name/component/default/payments-worker/ancestry',
  );
  await call('post', '/api/catalog/entities/by-refs', {
    entityRefs: ['component:default/payments-api'],
  });
  await call('get', '/api/catalog/entity-facets?facet=kind');
  await call('post', '/api/catalog/entity-facets', { facets: ['kind'] });
  await call('post', '/api/catalog/refresh', {
    entityRef: 'component:default/payments-api',
    authorizationToken: CANARY,
  });
  await call('post', '/api/catalog/validate-entity', {
    location: 'url:https://example.com/catalog-info.yaml',
    entity: {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'valid-one' },
      spec: {
        type: 'service',
        lifecycle: 'experimental',
        owner: 'platform-team',
      },
    },
  });
  const created = await call('post', '/api/catalog/locations', {
    type: 'file',
    target: file,
  });
  const locationId = created.body.location.id as string;
  await call('post', '/api/catalog/locations?dryRun=true', {
    type: 'file',
    target: file,
  });
  await call('get', `/api/catalog/locations?api_key=${CANARY}`);
  await call('post', '/api/catalog/locations/by-query', {});
  await call('get', `/api/catalog/locations/${locationId}`);
  await call('put', `/api/catalog/locations/${locationId}`, {
    type: 'file',
    target: file,
  });
  await call(
    'get',
    '/api/catalog/locations/by-entity/component/default/payments-api',
  );
  await call('post', '/api/catalog/analyze-location', {
    location: {
      type: 'url',
      target: 'https://example.com/repo/catalog-info.yaml',
    },
  });
  await call('delete', `/api/catalog/locations/${locationId}`);
  await call('delete', `/api/catalog/entities/by-uid/${uid}`);
  await call('get', '/api/catalog/no-such-route');
  await call('get', '/api/catalog/entities', undefined, nobody());
  await call(
    'delete',
    `/api/catalog/entities/by-uid/${uid}`,
    undefined,
    mallory(),
  );

  await call(
    'get',
    '/api/scaffolder/v2/templates/default/template/hello-audit/parameter-schema',
  );
  await call('get', '/api/scaffolder/v2/actions');
  const task = await call('post', '/api/scaffolder/v2/tasks', {
    templateRef: HELLO,
    values: { name: 'World', apiToken: CANARY },
    secrets: { deployKey: CANARY },
  });
  const taskId = task.body.id as string;
  await waitForTask(taskId);
  await call('get', '/api/scaffolder/v2/tasks?createdBy=user:default/alice');
  await call('get', `/api/scaffolder/v2/tasks/${taskId}`);
  await call('get', `/api/scaffolder/v2/tasks/${taskId}/events`);
  await call('get', `/api/scaffolder/v2/tasks/${taskId}/eventstream`);
  await call('post', `/api/scaffolder/v2/tasks/${taskId}/cancel`);
  await call('post', `/api/scaffolder/v2/tasks/${taskId}/retry`, {
    secrets: { deployKey: CANARY },
  });
  await waitForTask(taskId);
  await call('post', '/api/scaffolder/v2/dry-run', {
    template,
    values: { name: 'Dry' },
    secrets: { deployKey: CANARY },
    directoryContents: [],
  });
  await call('post', '/api/scaffolder/v2/autocomplete/github/repositories', {
    token: CANARY,
    context: {},
  });
  await call('get', '/api/scaffolder/v2/templating-extensions');

  // A task whose worker stopped heartbeating: the janitor cancels it.
  const knex = await database!.getClient();
  await knex('tasks')
    .where({ id: taskId })
    .update({ status: 'processing', last_heartbeat_at: '2000-01-01 00:00:00' });
  await scheduler.triggerTask('close_stale_tasks');

  const page = await call(
    'get',
    '/api/audit-log/events?eventName=CatalogEntityDeletion&limit=2',
  );
  await call('get', `/api/audit-log/events/${page.body.items[0].id}`);
}

beforeAll(async () => {
  release = await acquireBrokerLock();
  await waitForBroker();
  await createVhost(vhost);
  listener = await startListener({
    url: rabbitUrl(vhost),
    pool: `audit-cadf-real-${id}`,
  });
  backend = await startAuditedBackend({
    config: {
      scaffolder: {
        taskTimeout: { seconds: 5 },
        taskTimeoutJanitorFrequency: { minutes: 60 },
      },
    },
    features: [
      scheduler.factory({ skipTaskRunOnStartup: true }),
      scaffolderDatabase,
    ],
  });
  await waitForEntity(backend.server, 'component:default/payments-worker');
  await waitForEntity(backend.server, 'component:default/payments-api');
  await waitForEntity(backend.server, HELLO);
  await driveEverything();
  await backend.stop();
  records = backend.output.records();
}, 300_000);

afterAll(async () => {
  await listener?.stop();
  await deleteVhost(vhost);
  release?.();
}, 60_000);

describe('every event of the real plugins, as CADF on RabbitMQ', () => {
  it('drove every event of the audit map on the real plugins', () => {
    expect(new Set(records.map(r => r.eventName))).toEqual(
      new Set(Object.keys(defaultCadfAuditMap)),
    );
  });

  it('delivers each record as a notification the oslo listener accepts and pycadf validates, request and response sharing an id, with no canary anywhere', async () => {
    const format = CadfFormat.create({ baseUrl: 'http://localhost:7007' });
    const entries = records.map(record => ({
      record,
      line: format.render(record),
    }));
    const logger = capturingLogger();
    const { sink } = readAmqpSinkConfig(
      new ConfigReader({ url: amqpUrl(vhost), publisherId: PUBLISHER }),
      'auditLog.sinks.openstack',
    );
    const transport = AmqpTransport.create({
      name: 'openstack',
      config: sink,
      logger,
      dropped: () => undefined,
    });
    for (let i = 0; i < entries.length; i += 10) {
      await transport.deliver(entries.slice(i, i + 10));
    }
    await transport.close();
    await listener.waitFor(
      () =>
        notificationsOf(listener).filter(n => n.publisher_id === PUBLISHER)
          .length >= entries.length,
      60_000,
      `${entries.length} notifications`,
    );
    const got = notificationsOf(listener).filter(
      n => n.publisher_id === PUBLISHER,
    );

    expect(got.map(n => n.metadata.message_id)).toEqual(
      entries.map(e => osloMessageId(e, 'openstack')),
    );
    const invalid = got.filter(n => !n.cadf.valid);
    expect(invalid.map(n => n.cadf.errors)).toEqual([]);
    for (const n of got) {
      for (const w of n.cadf.warnings) {
        // Only an unauthenticated caller has a non-UUID id (`unknown`, as keystonemiddleware writes).
        expect(w).toContain('Invalid uuid: unknown.');
      }
    }
    got.forEach((n, i) => {
      const r = records[i];
      expect(n.payload.name).toBe(r.eventName);
      expect(n.payload.outcome).toBe(expectedOutcome(r));
      if (r.request) {
        // eslint-disable-next-line jest/no-conditional-expect -- only HTTP records carry a request path
        expect(n.payload.requestPath).toBe(r.request.url);
      }
    });
    // Pairs: an auditId's initiation and completion share one CADF id.
    const ids = new Map<string, Set<string>>();
    got.forEach((n, i) => {
      const key = `${records[i].auditId} ${records[i].eventName}`;
      ids.set(key, (ids.get(key) ?? new Set()).add(n.payload.id));
    });
    for (const [key, set] of ids) {
      expect([key, set.size]).toEqual([key, 1]);
    }

    // The canaries reached the backend (bodies, query strings, headers); none reached a notification.
    // Where a canary surfaces, show the surroundings.
    const leaks = got
      .map(n => JSON.stringify(n))
      .filter(text => text.includes(CANARY))
      .map(text =>
        text.slice(
          Math.max(0, text.indexOf(CANARY) - 200),
          text.indexOf(CANARY) + 40,
        ),
      );
    expect(leaks).toEqual([]);
    expect(entries.map(e => e.line).join('\n')).not.toContain(CANARY);
    expect(got.some(n => n.payload.requestPath?.includes('token=***'))).toBe(
      true,
    );
  });
});
