/**
 * CADF on oslo.messaging end to end, as a user runs it: the example backend
 * (`npm start`, real guest sign-in) with two outputs added in an override
 * file, exactly as the README shows them:
 *
 * - `openstack`: `type: amqp` (format `cadf`, the default delivery mode) to
 *   the real RabbitMQ, as a broker user of its own whose password is a canary;
 * - `cadfFile`: `type: file, format: cadf`, keystonemiddleware's other route.
 *
 * It drives every catalog and scaffolder event on the real plugins: tasks that
 * succeed, fail, are cancelled and retried, a dry run, and 401s, 403s and
 * 404s on both plugins. The 403s come from a static external-access token
 * restricted to reading the catalog (`backend.auth.externalAccess`), the way
 * an operator limits a token. Canary secrets ride in bodies, query strings and
 * headers.
 *
 * The judges are OpenStack's own code: oslo.messaging's unmodified
 * notification listener receives the notifications, and pycadf loads every
 * payload and every line of the file. What is expected comes from the
 * backend's stdout (the records it printed for the same requests), never
 * from the notifications themselves.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { catalogAuditRoutes } from '@backstage-audit/plugin-catalog-backend-module-audit-log';
import {
  scaffolderAuditRoutes,
  ScaffolderLifecycleEvents,
} from '@backstage-audit/plugin-scaffolder-backend-module-audit-log';
import {
  acquireBrokerLock,
  CadfLineVerdict,
  createVhost,
  deleteVhost,
  judgeCadfLines,
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
  ExampleBackend,
  ROOT,
  startExampleBackend,
  waitForExampleEntity,
} from './support/exampleBackend';
import { assertValidRecords } from './support/recordSchema';

const id = runId();
const vhost = `audit-cadf-e2e-${id}`;
const PUBLISHER = `backstage.e2e-${id}`;
/** Every secret planted below contains this; none may come out anywhere. */
const CANARY = `canary-${randomBytes(6).toString('hex')}`;
const MQ_USER = `audit-cadf-e2e-${id}`;
const MQ_PASSWORD = `${CANARY}-amqp-password`;
/** A static external-access token that may only read the catalog. */
const READ_ONLY_TOKEN = `${CANARY}-static-token`;
const MISSING_TASK = '00000000-0000-4000-8000-000000000000';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-cadf-e2e-'));
const cadfFile = path.join(dir, 'audit-cadf.log');

let release: () => void;
let listener: Listener;
let backend: ExampleBackend;
let stdout = '';
let stderr = '';
let records: AuditRecord[] = [];
let received: ReceivedNotification[] = [];
let fileLines: string[] = [];
let verdicts: CadfLineVerdict[] = [];
/** auditIds of the requests below, by label. */
const sent: Record<string, { auditId: string; status: number }> = {};

async function call(
  label: string,
  method: string,
  url: string,
  options: { body?: unknown; auth?: string | null } = {},
): Promise<{ status: number; body: any }> {
  const auth =
    options.auth === undefined ? `Bearer ${backend.token}` : options.auth;
  const res = await fetch(`${backend.base}${url}`, {
    method,
    headers: {
      ...(auth ? { Authorization: auth } : {}),
      ...(options.body ? { 'Content-Type': 'application/json' } : {}),
      Cookie: `session=${CANARY}-cookie; theme=dark`,
      'X-Api-Key': `${CANARY}-api-key-header`,
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  sent[label] = {
    auditId: res.headers.get('audit-id') ?? '',
    status: res.status,
  };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function taskStatus(taskId: string): Promise<string> {
  const res = await fetch(`${backend.base}/api/scaffolder/v2/tasks/${taskId}`, {
    headers: { Authorization: `Bearer ${backend.token}` },
  });
  return ((await res.json()) as { status: string }).status;
}

async function waitForTask(taskId: string, statuses: string[]): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (statuses.includes(await taskStatus(taskId))) {
      return;
    }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`task ${taskId} never reached ${statuses.join('/')}`);
}

/** One request per route of both tables, tasks in every outcome, a dry run, 401/403/404 on both plugins. */
async function driveEverything() {
  const readOnly = `Bearer ${READ_ONLY_TOKEN}`;
  const location = {
    type: 'url',
    target: 'https://example.com/cadf-e2e/catalog-info.yaml',
  };

  // Catalog.
  const worker = await call(
    'byName',
    'GET',
    '/api/catalog/entities/by-name/component/default/payments-worker',
  );
  const workerUid = worker.body.metadata.uid as string;
  const api = await call(
    'byNameApi',
    'GET',
    '/api/catalog/entities/by-name/component/default/payments-api',
  );
  // The catalog refuses query parameters it does not know (400), and its error body echoes the URL.
  await call(
    'byNameQueryCanary',
    'GET',
    `/api/catalog/entities/by-name/component/default/payments-api?access_token=${CANARY}-query-access-token`,
  );
  const apiUid = api.body.metadata.uid as string;
  await call('list', 'GET', '/api/catalog/entities?filter=kind=component');
  await call(
    'byQuery',
    'GET',
    `/api/catalog/entities/by-query?filter=kind=component&limit=1&token=${CANARY}-query-token`,
  );
  await call('byQueryPost', 'POST', '/api/catalog/entities/by-query', {
    body: { query: { kind: 'component' } },
  });
  await call('byUid', 'GET', `/api/catalog/entities/by-uid/${workerUid}`);
  await call(
    'ancestry',
    'GET',
    '/api/catalog/entities/by-name/component/default/payments-worker/ancestry',
  );
  await call('byRefs', 'POST', '/api/catalog/entities/by-refs', {
    body: {
      entityRefs: ['component:default/payments-api'],
      extra: { a: { b: [{ password: `${CANARY}-deep-password` }] } },
    },
  });
  await call('facets', 'GET', '/api/catalog/entity-facets?facet=kind');
  await call('facetsPost', 'POST', '/api/catalog/entity-facets', {
    body: { facets: ['kind'] },
  });
  await call('refreshOk', 'POST', '/api/catalog/refresh', {
    body: { entityRef: 'component:default/payments-api' },
  });
  // The catalog authenticates a body's authorizationToken: a canary there is refused (401).
  await call('refresh', 'POST', '/api/catalog/refresh', {
    body: {
      entityRef: 'component:default/payments-api',
      authorizationToken: `${CANARY}-refresh-token`,
    },
  });
  await call('validate', 'POST', '/api/catalog/validate-entity', {
    body: {
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
    },
  });
  const created = await call(
    'locationCreate',
    'POST',
    '/api/catalog/locations',
    {
      body: location,
    },
  );
  const locationId = created.body.location.id as string;
  await call('locationDryRun', 'POST', '/api/catalog/locations?dryRun=true', {
    body: location,
  });
  await call('locations', 'GET', '/api/catalog/locations');
  await call(
    'locationsQueryCanary',
    'GET',
    `/api/catalog/locations?api_key=${CANARY}-query-api-key`,
  );
  await call('locationsByQuery', 'POST', '/api/catalog/locations/by-query', {
    body: {},
  });
  await call('locationById', 'GET', `/api/catalog/locations/${locationId}`);
  await call('locationUpdate', 'PUT', `/api/catalog/locations/${locationId}`, {
    body: location,
  });
  await call(
    'locationByEntity',
    'GET',
    '/api/catalog/locations/by-entity/component/default/payments-api',
  );
  await call('analyze', 'POST', '/api/catalog/analyze-location', {
    body: { location },
  });
  await call(
    'locationDelete',
    'DELETE',
    `/api/catalog/locations/${locationId}`,
  );
  await call(
    'entityDelete',
    'DELETE',
    `/api/catalog/entities/by-uid/${workerUid}`,
  );
  await call('catalog404Route', 'GET', '/api/catalog/no-such-route');
  await call(
    'catalog404',
    'GET',
    '/api/catalog/entities/by-name/component/default/no-such-component',
  );
  await call('catalog401', 'GET', '/api/catalog/entities', { auth: null });
  await call(
    'catalog401Forged',
    'GET',
    '/api/catalog/entities/by-name/component/default/payments-api',
    { auth: `Bearer ${CANARY}-forged-token` },
  );
  await call(
    'catalogReadOnlyOk',
    'GET',
    `/api/catalog/entities/by-uid/${apiUid}`,
    {
      auth: readOnly,
    },
  );
  await call('catalog403', 'DELETE', `/api/catalog/entities/by-uid/${apiUid}`, {
    auth: readOnly,
  });

  // Scaffolder.
  await call(
    'parameterSchema',
    'GET',
    '/api/scaffolder/v2/templates/default/template/hello-audit/parameter-schema',
  );
  await call('actions', 'GET', '/api/scaffolder/v2/actions');
  const hello = await call('taskCreate', 'POST', '/api/scaffolder/v2/tasks', {
    body: {
      templateRef: 'template:default/hello-audit',
      values: { name: 'World', apiToken: `${CANARY}-task-value` },
      secrets: { deployKey: `${CANARY}-task-secret` },
    },
  });
  const failing = await call(
    'taskCreateFails',
    'POST',
    '/api/scaffolder/v2/tasks',
    {
      body: {
        templateRef: 'template:default/hello-audit',
        values: { name: 'Fails', fail: true },
        secrets: { deployKey: `${CANARY}-task-secret-2` },
      },
    },
  );
  const slow = await call(
    'taskCreateSlow',
    'POST',
    '/api/scaffolder/v2/tasks',
    {
      body: {
        templateRef: 'template:default/wait-a-while',
        values: { seconds: 60 },
      },
    },
  );
  const helloId = hello.body.id as string;
  const failingId = failing.body.id as string;
  const slowId = slow.body.id as string;
  await waitForTask(slowId, ['processing']);
  await call('taskCancel', 'POST', `/api/scaffolder/v2/tasks/${slowId}/cancel`);
  await waitForTask(helloId, ['completed']);
  await waitForTask(failingId, ['failed']);
  await waitForTask(slowId, ['cancelled', 'failed']);
  await call(
    'taskList',
    'GET',
    '/api/scaffolder/v2/tasks?createdBy=user:development/guest',
  );
  await call('taskGet', 'GET', `/api/scaffolder/v2/tasks/${helloId}`);
  await call('taskEvents', 'GET', `/api/scaffolder/v2/tasks/${helloId}/events`);
  // A finished task's stream sends its log and ends.
  await call(
    'taskStream',
    'GET',
    `/api/scaffolder/v2/tasks/${helloId}/eventstream`,
  );
  await call(
    'taskRetry',
    'POST',
    `/api/scaffolder/v2/tasks/${failingId}/retry`,
    {
      body: { secrets: { deployKey: `${CANARY}-retry-secret` } },
    },
  );
  await waitForTask(failingId, ['failed']);
  const template = parse(
    fs.readFileSync(
      path.join(
        ROOT,
        'packages/backend/examples/templates/hello/template.yaml',
      ),
      'utf8',
    ),
  );
  await call('dryRun', 'POST', '/api/scaffolder/v2/dry-run', {
    body: {
      template,
      values: { name: 'Dry' },
      secrets: { deployKey: `${CANARY}-dry-run-secret` },
      directoryContents: [],
    },
  });
  await call(
    'autocomplete',
    'POST',
    '/api/scaffolder/v2/autocomplete/github/repositories',
    { body: { token: `${CANARY}-autocomplete-token`, context: {} } },
  );
  await call(
    'templatingExtensions',
    'GET',
    '/api/scaffolder/v2/templating-extensions',
  );
  await call(
    'scaffolder404',
    'GET',
    `/api/scaffolder/v2/tasks/${MISSING_TASK}`,
  );
  await call('scaffolder401', 'POST', '/api/scaffolder/v2/tasks', {
    auth: null,
    body: { templateRef: 'template:default/hello-audit', values: {} },
  });
  await call('scaffolder403', 'POST', '/api/scaffolder/v2/tasks', {
    auth: readOnly,
    body: {
      templateRef: 'template:default/hello-audit',
      values: { name: 'x' },
    },
  });

  // The audit log's own API.
  const page = await call(
    'auditQuery',
    'GET',
    '/api/audit-log/events?eventName=CatalogEntityDeletion&limit=2',
  );
  await call(
    'auditFetch',
    'GET',
    `/api/audit-log/events/${page.body.items[0].id}`,
  );
}

const mine = () =>
  notificationsOf(listener).filter(n => n.publisher_id === PUBLISHER);

beforeAll(async () => {
  release = await acquireBrokerLock();
  await waitForBroker();
  await createVhost(vhost);
  await rabbitmqctl('add_user', MQ_USER, MQ_PASSWORD);
  await rabbitmqctl('set_permissions', '-p', vhost, MQ_USER, '.*', '.*', '.*');
  // oslo's default queue (`notifications.info`, no pool): the one the sink declares too.
  listener = await startListener({ url: rabbitUrl(vhost) });

  backend = await startExampleBackend({
    extraConfig: [
      'auditLog:',
      '  sinks:',
      '    openstack:',
      '      type: amqp',
      `      url: amqp://${MQ_USER}:${MQ_PASSWORD}@127.0.0.1:5672/${vhost}`,
      `      publisherId: ${PUBLISHER}`,
      '    cadfFile:',
      '      type: file',
      '      format: cadf',
      `      path: ${cadfFile}`,
      '',
    ].join('\n'),
    env: {
      // Layered the way Backstage layers environment config (APP_CONFIG_*).
      APP_CONFIG_backend_auth_externalAccess: JSON.stringify([
        {
          type: 'static',
          options: { token: READ_ONLY_TOKEN, subject: 'catalog-reader' },
          accessRestrictions: [
            { plugin: 'catalog', permission: 'catalog.entity.read' },
          ],
        },
      ]),
    },
  });
  await waitForExampleEntity(backend, 'component:default/payments-worker');
  await waitForExampleEntity(backend, 'component:default/payments-api');
  await waitForExampleEntity(backend, 'template:default/hello-audit');
  await waitForExampleEntity(backend, 'template:default/wait-a-while');
  await driveEverything();
  await backend.stop();
  stdout = backend.stdout();
  stderr = backend.stderr();
  records = stdout
    .split('\n')
    .filter(line => line.includes('"isAuditLog":true'))
    .map(line => JSON.parse(line) as AuditRecord);
  assertValidRecords(records);
  await listener.waitFor(
    () => mine().length >= records.length,
    60_000,
    `${records.length} notifications`,
  );
  // Anything extra would arrive right behind: give it a moment to show.
  await new Promise(r => setTimeout(r, 1000));
  received = mine();
  fileLines = fs.readFileSync(cadfFile, 'utf8').split('\n');
  verdicts = await judgeCadfLines(fileLines.filter(Boolean));
}, 600_000);

afterAll(async () => {
  await backend?.stop();
  await listener?.stop();
  await deleteVhost(vhost);
  await rabbitmqctl('delete_user', MQ_USER).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
  release?.();
}, 60_000);

/** The CADF outcome a record must have, from keystonemiddleware's rules. */
function expectedOutcome(r: AuditRecord): string {
  if (r.stage === 'initiation') return 'pending';
  if (r.status === 'succeeded') return 'success';
  return r.response?.status === 500 && r.errors?.length ? 'unknown' : 'failure';
}

/** What a notification says about its record: the correlation id, event name and stage. */
function keyOf(n: ReceivedNotification): string {
  const tag = n.payload.tags.find(t => t.startsWith('correlation_id?value='));
  const stage = n.payload.outcome === 'pending' ? 'initiation' : 'completion';
  return `${tag?.slice('correlation_id?value='.length)} ${n.payload.name} ${stage}`;
}

const recordKey = (r: AuditRecord) => `${r.auditId} ${r.eventName} ${r.stage}`;

describe('CADF on oslo.messaging from the example backend (npm start)', () => {
  it('drove every event of the catalog and scaffolder tables and the task lifecycle, with 401, 403 and 404 on both plugins', () => {
    const names = new Set(records.map(r => r.eventName));
    const expected = [
      ...catalogAuditRoutes.routes.map(r => r.eventName),
      ...scaffolderAuditRoutes.routes.map(r => r.eventName),
      // The stale-task janitor needs a worker that stopped heartbeating; realPlugins.test.ts drives it.
      ...Object.values(ScaffolderLifecycleEvents).filter(
        e => e !== ScaffolderLifecycleEvents.staleTaskCancellation,
      ),
      'AuditLogStarted',
      'AuditLogStopped',
      'AuditLogQuery',
      'AuditLogRecordFetch',
      'HttpRequest',
    ];
    expect(expected.filter(e => !names.has(e))).toEqual([]);
    for (const [label, status] of [
      ['catalog401', 401],
      ['catalog401Forged', 401],
      ['catalog403', 403],
      ['catalog404', 404],
      ['catalog404Route', 404],
      ['scaffolder401', 401],
      ['scaffolder403', 403],
      ['scaffolder404', 404],
    ] as const) {
      expect([label, sent[label].status]).toEqual([label, status]);
    }
    // Tasks ended in each way: completed, failed (twice: run and retry), cancelled.
    const outcomes = records
      .filter(
        r =>
          r.eventName === ScaffolderLifecycleEvents.taskExecution &&
          r.stage === 'completion' &&
          !r.meta?.isDryLog,
      )
      .map(r => r.meta?.outcome)
      .sort();
    expect(outcomes).toEqual(['cancelled', 'completed', 'failed', 'failed']);
  });

  it('every record the backend printed reached the oslo listener as one notification, in the same order: nothing lost, nothing extra', () => {
    expect(records.length).toBeGreaterThan(150);
    expect(received.map(keyOf)).toEqual(records.map(recordKey));
    // Per auditId the counts match exactly as well (a shorter restatement for failures).
    const count = (keys: string[]) => {
      const m = new Map<string, number>();
      for (const k of keys) {
        const auditId = k.split(' ')[0];
        m.set(auditId, (m.get(auditId) ?? 0) + 1);
      }
      return m;
    };
    expect(count(received.map(keyOf))).toEqual(count(records.map(recordKey)));
    expect(new Set(received.map(n => n.metadata.message_id)).size).toBe(
      received.length,
    );
  });

  it('pycadf loads every payload: valid, action and outcome from its taxonomies; outcome, reason, requestPath, time and initiator as the record says', () => {
    expect(received.filter(n => !n.cadf.valid).map(n => n.cadf.errors)).toEqual(
      [],
    );
    received.forEach((n, i) => {
      const r = records[i];
      const p = n.payload;
      const where = `${r.eventName} ${r.stage} ${r.auditId}`;
      for (const w of n.cadf.warnings) {
        // Only a caller nobody authenticated has a non-UUID id: `unknown`, as keystonemiddleware writes.
        expect([where, w, r.actor.actorId]).toEqual([
          where,
          expect.stringContaining('Invalid uuid: unknown.'),
          null,
        ]);
      }
      expect([where, p.outcome]).toEqual([where, expectedOutcome(r)]);
      expect([where, n.event_type]).toEqual([
        where,
        r.request
          ? r.stage === 'initiation'
            ? 'audit.http.request'
            : 'audit.http.response'
          : `audit.${r.plugin}.${r.stage === 'initiation' ? 'start' : 'end'}`,
      ]);
      expect(n.priority).toBe('INFO');
      expect(Date.parse(p.eventTime.replace(/\+0000$/, 'Z'))).toBe(
        Date.parse(r.timestamp),
      );
      expect(p.initiator.name).toBe(r.actor.actorId ?? 'unknown');
      if (r.request) {
        expect(p.requestPath).toBe(r.request.url);
        expect(p.initiator.host?.address).toBe(r.actor.ip);
        expect(p.initiator.credential?.identity_status).toBe(
          r.actor.actorId ? 'Confirmed' : 'Invalid',
        );
      }
      if (r.stage === 'completion' && r.response) {
        expect(p.reason).toEqual({
          reasonType: 'HTTP',
          reasonCode: String(r.response.status),
        });
      }
    });
    // Actions follow keystonemiddleware's rules for these routes (collection GET, item GET, POST create, DELETE).
    const actionOf = (label: string) =>
      received.find(n => keyOf(n).startsWith(`${sent[label].auditId} `))
        ?.payload.action;
    expect(actionOf('byName')).toBe('read');
    expect(actionOf('list')).toBe('read/list');
    expect(actionOf('locationCreate')).toBe('create');
    expect(actionOf('locationUpdate')).toBe('update');
    expect(actionOf('entityDelete')).toBe('delete');
    expect(actionOf('taskCreate')).toBe('create');
  });

  it('request and response events of one request share an id; different requests never do', () => {
    const byAuditId = new Map<string, ReceivedNotification[]>();
    received.forEach((n, i) => {
      if (!records[i].request) return;
      const list = byAuditId.get(records[i].auditId) ?? [];
      list.push(n);
      byAuditId.set(records[i].auditId, list);
    });
    const pairIds: string[] = [];
    for (const [auditId, list] of byAuditId) {
      expect([auditId, list.map(n => n.event_type)]).toEqual([
        auditId,
        ['audit.http.request', 'audit.http.response'],
      ]);
      expect([auditId, list[0].payload.id]).toEqual([
        auditId,
        list[1].payload.id,
      ]);
      pairIds.push(list[0].payload.id);
    }
    expect(new Set(pairIds).size).toBe(pairIds.length);
    // Every request the test sent is among them.
    expect(
      Object.entries(sent)
        .filter(([, s]) => !byAuditId.has(s.auditId))
        .map(([label]) => label),
    ).toEqual([]);
  });

  it('401, 403 and 404 read as failures with the HTTP status as reason', () => {
    for (const [label, code] of [
      ['catalog401', '401'],
      ['catalog403', '403'],
      ['catalog404', '404'],
      ['scaffolder401', '401'],
      ['scaffolder403', '403'],
      ['scaffolder404', '404'],
    ] as const) {
      const events = received.filter(n =>
        keyOf(n).startsWith(`${sent[label].auditId} `),
      );
      expect([
        label,
        events.map(n => [n.payload.outcome, n.payload.reason?.reasonCode]),
      ]).toEqual([
        label,
        [
          ['pending', undefined],
          ['failure', code],
        ],
      ]);
    }
    const unauthenticated = received.find(n =>
      keyOf(n).startsWith(`${sent.catalog401.auditId} `),
    )!.payload.initiator;
    expect(unauthenticated.credential).toEqual({
      token: '',
      identity_status: 'Invalid',
    });
    const forged = received.find(n =>
      keyOf(n).startsWith(`${sent.catalog401Forged.auditId} `),
    )!.payload.initiator;
    expect(forged.credential?.identity_status).toBe('Invalid');
    expect(forged.credential?.token).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('no canary secret (bodies, query strings, headers, the broker password, the read-only token) and no part of the guest token reaches a notification, the CADF file, stdout or stderr', () => {
    // The guest token's signature: nothing of it may be kept (pycadf's mask_value keeps 32 characters at each end).
    const signature = backend.token.split('.')[2];
    const everything = {
      notifications: JSON.stringify(received),
      file: fileLines.join('\n'),
      stdout,
      stderr,
      listenerStderr: listener.stderr(),
    };
    for (const [where, text] of Object.entries(everything)) {
      const at = text.indexOf(CANARY);
      expect([
        where,
        at === -1 ? '' : text.slice(Math.max(0, at - 200), at + 60),
      ]).toEqual([where, '']);
      for (let i = 0; i + 12 <= signature.length; i += 12) {
        expect([where, text.includes(signature.slice(i, i + 12))]).toEqual([
          where,
          false,
        ]);
      }
    }
    // The canaries did reach the backend: the records show where they were redacted.
    const requestOf = (label: string) =>
      records.find(
        r => r.auditId === sent[label].auditId && r.stage === 'completion',
      )!.request!;
    expect(requestOf('byQuery').url).toContain('token=***');
    expect(requestOf('byNameQueryCanary').url).toContain('access_token=***');
    expect(requestOf('refresh').body).toMatchObject({
      authorizationToken: '***',
    });
    const paths = received.map(n => n.payload.requestPath ?? '');
    expect(
      paths.filter(p => p.includes('token=***')).length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('the CADF file (type: file, format: cadf) holds the same events, one per line, each loaded by pycadf', () => {
    expect(fileLines[fileLines.length - 1]).toBe('');
    expect(fileLines.slice(0, -1).filter(l => l === '')).toEqual([]);
    expect(verdicts).toHaveLength(records.length);
    expect(verdicts.filter(v => !v.valid).map(v => v.errors)).toEqual([]);
    // One format, rendered once: the file's events are the notifications' payloads, in order.
    expect(verdicts.map(v => v.event)).toEqual(received.map(n => n.payload));
  });
});
