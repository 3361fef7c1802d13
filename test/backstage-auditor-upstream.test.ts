/**
 * The `backstage-auditor` format, field by field, against upstream
 * Backstage's own auditor for the same requests.
 *
 * Upstream: the real catalog and scaffolder with `@backstage/backend-defaults`'
 * `auditorServiceFactory` (startTestBackend's default auditor), logging
 * through the plugin logger of Backstage's own `WinstonLogger` configured as
 * the production root logger is (`NODE_ENV=production`: `format.json()`,
 * meta `service: backstage`), at level debug so that `low` events (debug in
 * upstream's default mapping) are printed; its transport keeps each line
 * exactly as it would be written.
 *
 * Ours: the same plugins with the audit log installed and a recording sink
 * `{type: recording, format: backstage-auditor}`.
 *
 * Both backends answer the same requests; every difference asserted here is
 * documented in docs/format-backstage-auditor.md. The permission decision is
 * mocked in both (see test/support/auditedBackend.ts for why).
 */
import path from 'node:path';
import request from 'supertest';
import * as winston from 'winston';
import Transport from 'winston-transport';
import { MESSAGE } from 'triple-beam';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { WinstonLogger } from '@backstage/backend-defaults/rootLogger';
import { createRecordingSinkType } from '@backstage-audit/plugin-audit-log-node/testUtils';
import {
  alice,
  allowFileLocations,
  CATALOG_RULES,
  denyMalloryPermissions,
  EXAMPLES,
  mallory,
  startAuditedBackend,
  waitForEntity,
} from './support/auditedBackend';

const TEMPLATE_REF = 'template:default/hello-audit';
const USER_AGENT = 'audit-compare/1.0';
const CANARY = 'canary-bsa-upstream-8c2d';
const ENTITIES_FILE = path.join(EXAMPLES, 'entities.yaml');

/** One printed auditor line, parsed. */
interface Line {
  [key: string]: unknown;
  eventId?: string;
  severityLevel?: string;
  plugin?: string;
  status?: string;
  level?: string;
  message?: string;
  name?: string;
  actor: {
    actorId?: string;
    ip?: string;
    hostname?: string;
    userAgent?: string;
  };
  request?: { method: string; url: string };
  meta?: Record<string, unknown>;
}

interface Step {
  method: 'GET' | 'POST';
  url: string;
  body?: object;
  auth?: () => string;
}

/** The requests both backends answer, in order. */
const STEPS = {
  byName: {
    method: 'GET',
    url: '/api/catalog/entities/by-name/component/default/payments-api',
  },
  byQuery: {
    method: 'GET',
    url: '/api/catalog/entities/by-query?filter=kind=component&limit=1&orderField=metadata.name,asc',
  },
  refresh: {
    method: 'POST',
    url: '/api/catalog/refresh',
    body: { entityRef: 'component:default/payments-api' },
  },
  locationDryRun: {
    method: 'POST',
    url: '/api/catalog/locations?dryRun=true',
    body: { type: 'file', target: ENTITIES_FILE },
  },
  location: {
    method: 'POST',
    url: '/api/catalog/locations',
    body: { type: 'file', target: ENTITIES_FILE },
  },
  task: {
    method: 'POST',
    url: '/api/scaffolder/v2/tasks',
    body: {
      templateRef: TEMPLATE_REF,
      values: { name: 'World' },
      secrets: { deployKey: CANARY },
    },
  },
  notFound: {
    method: 'GET',
    url: '/api/catalog/entities/by-name/component/default/does-not-exist',
  },
  denied: {
    method: 'POST',
    url: '/api/scaffolder/v2/tasks',
    body: { templateRef: TEMPLATE_REF, values: { name: 'Nope' } },
    auth: mallory,
  },
} satisfies Record<string, Step>;
type StepName = keyof typeof STEPS;

interface Outcome {
  status: number;
  body: Record<string, any>;
  lines: Line[];
}

interface Side {
  steps: Record<StepName, Outcome>;
  /** The task's execution records. */
  execution: Line[];
  /** Every auditor line the side printed while the steps ran. */
  all: string[];
}

const parse = (line: string) => JSON.parse(line) as Line;

/** Sends the steps in order; `collect` returns the lines of one response. */
async function drive(
  server: import('node:http').Server,
  collect: (
    res: request.Response,
    step: Step,
    before: number,
  ) => Line[] | Promise<Line[]>,
  count: () => number,
): Promise<Record<StepName, Outcome>> {
  const out = {} as Record<StepName, Outcome>;
  for (const [name, step] of Object.entries(STEPS) as Array<[StepName, Step]>) {
    const before = count();
    let req = request(server)
      [step.method === 'GET' ? 'get' : 'post'](step.url)
      .set('Authorization', (step.auth ?? alice)())
      .set('User-Agent', USER_AGENT);
    if (step.body) {
      req = req.send(step.body);
    }
    const res = await req;
    out[name] = {
      status: res.status,
      body: res.body,
      lines: await collect(res, step, before),
    };
  }
  return out;
}

async function waitFor<T>(what: string, get: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = get();
    if (v !== undefined) {
      return v;
    }
    await new Promise(r => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const isExecutionOf = (taskId: string) => (l: Line) =>
  l.eventId === 'task' &&
  l.meta?.actionType === 'execution' &&
  l.meta?.taskId === taskId;

/** Both records of an execution, once it has ended. */
const finished = (lines: Line[]) =>
  lines.length >= 2 && lines.some(l => l.status !== 'initiated')
    ? lines
    : undefined;

/** Runs the steps on the real plugins with upstream's default auditor. */
async function runUpstream(): Promise<Side> {
  const printed: string[] = [];
  class Capture extends Transport {
    override log(info: Record<string | symbol, unknown>, next: () => void) {
      printed.push(info[MESSAGE] as string);
      next();
    }
  }
  // What rootLoggerServiceFactory builds with NODE_ENV=production, writing to
  // a transport we can read instead of the console.
  const productionRootLogger = createServiceFactory({
    service: coreServices.rootLogger,
    deps: {},
    factory: () =>
      WinstonLogger.create({
        meta: { service: 'backstage' },
        level: 'debug',
        format: winston.format.json(),
        transports: [new Capture()],
      }),
  });
  const backend = await startTestBackend({
    features: [
      productionRootLogger,
      import('@backstage/plugin-catalog-backend'),
      import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
      import('@backstage/plugin-scaffolder-backend'),
      denyMalloryPermissions,
      allowFileLocations,
      mockServices.rootConfig.factory({
        data: {
          permission: { enabled: true },
          catalog: {
            rules: CATALOG_RULES,
            locations: [
              { type: 'file', target: path.join(EXAMPLES, 'locations.yaml') },
            ],
          },
        },
      }),
    ],
  });
  try {
    await waitForEntity(backend.server, TEMPLATE_REF);
    const audit = () => printed.filter(l => l.includes('"isAuditEvent":true'));
    const start = audit().length;
    const steps = await drive(
      backend.server,
      (_res, step, before) =>
        audit()
          .slice(before)
          .map(parse)
          .filter(
            l =>
              l.request?.url === step.url && l.request?.method === step.method,
          ),
      () => audit().length,
    );
    const taskId = steps.task.body.id as string;
    const execution = await waitFor('the upstream execution records', () =>
      finished(audit().map(parse).filter(isExecutionOf(taskId))),
    );
    return { steps, execution, all: audit().slice(start) };
  } finally {
    await backend.stop();
  }
}

/**
 * Runs the steps with the audit log and a backstage-auditor recording sink.
 * `capture: false` captures no plugin's HTTP traffic and leaves the
 * scaffolder's task lifecycle off: every record is then one of upstream's
 * own auditor events, routed through our auditor replacement
 * (`<pluginId>.<eventId>` records), found by request rather than auditId.
 */
async function runOurs(options: { capture: boolean }): Promise<Side> {
  const recording = createRecordingSinkType();
  const backend = await startAuditedBackend({
    auditLog: {
      ...(options.capture
        ? {}
        : { plugins: [], scaffolder: { taskLifecycle: false } }),
      sinks: {
        auditor: { type: 'recording', format: 'backstage-auditor' },
      },
    },
    features: [recording.factory()],
  });
  try {
    await waitForEntity(backend.server, TEMPLATE_REF);
    const start = recording.lines.length;
    const steps = await drive(
      backend.server,
      options.capture
        ? res =>
            recording.lines
              .map(parse)
              .filter(l => l.auditId === res.headers['audit-id'])
        : (_res, step, before) =>
            recording.lines
              .slice(before)
              .map(parse)
              .filter(
                l =>
                  l.request?.url === step.url &&
                  l.request?.method === step.method,
              ),
      () => recording.lines.length,
    );
    const taskId = steps.task.body.id as string;
    const execution = await waitFor('our execution records', () =>
      finished(recording.lines.map(parse).filter(isExecutionOf(taskId))),
    );
    return { steps, execution, all: recording.lines.slice(start) };
  } finally {
    await backend.stop();
  }
}

/** Fields ours adds to upstream's shape (documented). */
const OUR_EXTRAS = new Set(['timestamp', 'auditId', 'response', 'errors']);
/** Upstream's stack trace: ours prints one only with auditLog.errors.includeStack. */
const UPSTREAM_ONLY = new Set(['stack']);

let upstream: Side;
let ours: Side;
let passthrough: Side;

beforeAll(async () => {
  // One after the other: three backends at once would crowd two cores.
  upstream = await runUpstream();
  ours = await runOurs({ capture: true });
  passthrough = await runOurs({ capture: false });
});

afterAll(() => {
  // Task secrets went to every backend; our format's lines never hold them.
  expect([...ours.all, ...passthrough.all].join('\n')).not.toContain(CANARY);
});

/** The lines of one step on upstream's side and ours, paired by status. */
function pair(
  step: StepName,
  statuses: { upstream: string[]; ours: string[] },
  side: () => Side = () => ours,
) {
  const u = upstream.steps[step];
  const o = side().steps[step];
  expect(u.status).toBe(o.status);
  expect(u.lines.map(l => l.status)).toEqual(statuses.upstream);
  expect(o.lines.map(l => l.status)).toEqual(statuses.ours);
  return o.lines.map(ol => ({
    o: ol,
    u: u.lines.find(ul => ul.status === ol.status)!,
  }));
}

/** What every pair of lines must share, and the documented differences. */
function compareCommon(
  pairs: Array<{ u: Line; o: Line }>,
  expected: { plugin: string; eventId: string; severityLevel: string },
) {
  for (const { u, o } of pairs) {
    for (const line of [u, o]) {
      expect(line).toMatchObject({
        isAuditEvent: true,
        service: 'backstage',
        ...expected,
      });
    }
    expect(o.message).toBe(u.message);
    expect(o.name).toBe(u.name);
    expect(o.request).toEqual(u.request);
    // Same actor, user agent and (no proxy here) address.
    expect(o.actor.actorId).toBe(u.actor.actorId);
    expect(o.actor.userAgent).toBe(USER_AGENT);
    expect(u.actor.userAgent).toBe(USER_AGENT);
    expect(o.actor.ip).toBe(u.actor.ip);
    // Upstream's hostname is the Host header (this server); ours the client.
    expect(u.actor.hostname).toBe('127.0.0.1');
    expect(o.actor.hostname).toBe(o.actor.ip);
    // Upstream maps low to debug; our records keep their level.
    expect(u.level).toBe(expected.severityLevel === 'low' ? 'debug' : 'info');
    expect(o.level).toBe('info');
    // Production JSON has no timestamp; ours is ISO-8601 with zone.
    expect(u).not.toHaveProperty('timestamp');
    expect(o.timestamp).toEqual(
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    );
    // Field for field: the same keys, but our extras and upstream's stack...
    expect(Object.keys(o).filter(k => !OUR_EXTRAS.has(k))).toEqual(
      Object.keys(u).filter(k => !UPSTREAM_ONLY.has(k)),
    );
    expect(Object.keys(o.actor)).toEqual(Object.keys(u.actor));
    // ...in the same (sorted) order as winston's json() prints them.
    expect(Object.keys(o)).toEqual(Object.keys(o).sort());
  }
}

describe('backstage-auditor format against upstream DefaultAuditorService', () => {
  it('by-name fetch: entity-fetch (by-name), same meta at both stages', () => {
    const pairs = pair('byName', {
      upstream: ['initiated', 'succeeded'],
      ours: ['initiated', 'succeeded'],
    });
    compareCommon(pairs, {
      plugin: 'catalog',
      eventId: 'entity-fetch',
      severityLevel: 'low',
    });
    for (const { u, o } of pairs) {
      expect(u.meta).toEqual({
        queryType: 'by-name',
        entityRef: 'component:default/payments-api',
      });
      expect(o.meta).toEqual(u.meta);
    }
  });

  it('by-query fetch: entity-fetch (by-query) with totalItems and pageInfo', () => {
    const pairs = pair('byQuery', {
      upstream: ['initiated', 'succeeded'],
      ours: ['initiated', 'succeeded'],
    });
    compareCommon(pairs, {
      plugin: 'catalog',
      eventId: 'entity-fetch',
      severityLevel: 'low',
    });
    const [init, done] = pairs;
    expect(init.u.meta).toEqual({ queryType: 'by-query' });
    expect(init.o.meta).toEqual(init.u.meta);
    expect(done.u.meta).toEqual({
      queryType: 'by-query',
      totalItems: upstream.steps.byQuery.body.totalItems,
      pageInfo: { nextCursor: expect.any(String) },
    });
    // Our totalEntities is upstream's totalItems; pageInfo is upstream's own.
    expect(done.o.meta).toEqual({
      queryType: 'by-query',
      totalItems: ours.steps.byQuery.body.totalItems,
      pageInfo: ours.steps.byQuery.body.pageInfo,
    });
    expect(done.o.meta!.totalItems).toBe(done.u.meta!.totalItems);
    // The cursors hold each catalog's own entity uids, so only their place matches.
    expect(done.u.meta!.pageInfo).toEqual(upstream.steps.byQuery.body.pageInfo);
    expect(Object.keys(done.o.meta!.pageInfo as object)).toEqual([
      'nextCursor',
    ]);
  });

  it('refresh: entity-mutate (queryType refresh); the entity ref from the body is on our completion only', () => {
    const pairs = pair('refresh', {
      upstream: ['initiated', 'succeeded'],
      ours: ['initiated', 'succeeded'],
    });
    compareCommon(pairs, {
      plugin: 'catalog',
      eventId: 'entity-mutate',
      severityLevel: 'medium',
    });
    const [init, done] = pairs;
    const meta = {
      queryType: 'refresh',
      entityRef: 'component:default/payments-api',
    };
    expect(init.u.meta).toEqual(meta);
    // Our initiation is written before the plugin reads the body.
    expect(init.o.meta).toEqual({ queryType: 'refresh' });
    expect(done.u.meta).toEqual(meta);
    expect(done.o.meta).toEqual(meta);
  });

  it.each([
    // A dry run answers with the entities it read; a real creation with none
    // (they are processed later).
    ['locationDryRun', true, 'low', ['component:default/payments-api']],
    ['location', false, 'medium', []],
  ] as const)(
    'location create (%s): location-mutate (create), isDryRun %s, severity %s',
    (step, isDryRun, severityLevel, entityRefs) => {
      const pairs = pair(step, {
        upstream: ['initiated', 'succeeded'],
        ours: ['initiated', 'succeeded'],
      });
      compareCommon(pairs, {
        plugin: 'catalog',
        eventId: 'location-mutate',
        severityLevel,
      });
      const [init, done] = pairs;
      const location = { type: 'file', target: ENTITIES_FILE };
      expect(init.u.meta).toEqual({ actionType: 'create', isDryRun, location });
      expect(init.o.meta).toEqual({ actionType: 'create', isDryRun });
      // Upstream's completion carries the created location, id included;
      // ours the same type and target, its id beside it, and the entities.
      const uLocation = done.u.meta!.location as Record<string, unknown>;
      const created = upstream.steps[step].body.location;
      expect(done.u.meta).toMatchObject({ actionType: 'create', isDryRun });
      expect(uLocation).toMatchObject({ ...location, id: created.id });
      expect(done.o.meta).toMatchObject({
        actionType: 'create',
        isDryRun,
        location,
        id: ours.steps[step].body.location.id,
        entityRefs: entityRefs.length
          ? expect.arrayContaining([...entityRefs])
          : [],
      });
    },
  );

  it('task creation: task (create), then its execution (task / execution)', () => {
    const pairs = pair('task', {
      upstream: ['initiated', 'succeeded'],
      ours: ['initiated', 'succeeded'],
    });
    compareCommon(pairs, {
      plugin: 'scaffolder',
      eventId: 'task',
      severityLevel: 'medium',
    });
    const [init, done] = pairs;
    expect(init.u.meta).toEqual({
      actionType: 'create',
      templateRef: TEMPLATE_REF,
    });
    expect(init.o.meta).toEqual({ actionType: 'create' });
    expect(done.u.meta).toEqual({
      actionType: 'create',
      templateRef: TEMPLATE_REF,
      taskId: upstream.steps.task.body.id,
    });
    expect(done.o.meta).toEqual({
      actionType: 'create',
      templateRef: TEMPLATE_REF,
      taskId: ours.steps.task.body.id,
    });

    // The execution: upstream's TaskWorker event against our lifecycle record.
    const u = upstream.execution;
    const o = ours.execution;
    expect(u.map(l => l.status)).toEqual(['initiated', 'succeeded']);
    expect(o.map(l => l.status)).toEqual(['initiated', 'succeeded']);
    for (const [ul, ol] of [
      [u[0], o[0]],
      [u[1], o[1]],
    ]) {
      for (const line of [ul, ol]) {
        expect(line).toMatchObject({
          plugin: 'scaffolder',
          eventId: 'task',
          severityLevel: 'medium',
          message: 'scaffolder.task',
        });
        expect(line).not.toHaveProperty('request');
      }
      // Upstream's actor is the scaffolder itself; ours the task's creator.
      expect(ul.actor).toEqual({ actorId: 'plugin:scaffolder' });
      expect(ol.actor).toEqual({ actorId: 'user:default/alice' });
      expect(ul.meta).toEqual({
        actionType: 'execution',
        createdBy: 'user:default/alice',
        taskId: upstream.steps.task.body.id,
        taskParameters: { name: 'World' },
        templateRef: TEMPLATE_REF,
      });
      expect(ol.meta).toMatchObject({
        actionType: 'execution',
        createdBy: 'user:default/alice',
        taskId: ours.steps.task.body.id,
        taskParameters: { name: 'World' },
        templateRef: TEMPLATE_REF,
      });
      expect(Object.keys(ol).filter(k => !OUR_EXTRAS.has(k))).toEqual(
        Object.keys(ul),
      );
    }
    // Upstream has no step events; ours has them under task-step.
    expect(upstream.all.some(l => l.includes('"task-step"'))).toBe(false);
    expect(
      ours.all.map(parse).filter(l => l.eventId === 'task-step').length,
    ).toBeGreaterThan(0);
  });

  it('404: upstream logs succeeded and then failed; ours only failed', () => {
    const pairs = pair('notFound', {
      upstream: ['initiated', 'succeeded', 'failed'],
      ours: ['initiated', 'failed'],
    });
    expect(ours.steps.notFound.status).toBe(404);
    compareCommon(pairs, {
      plugin: 'catalog',
      eventId: 'entity-fetch',
      severityLevel: 'low',
    });
    const failed = pairs[1];
    expect(failed.u).toMatchObject({
      name: 'NotFoundError',
      message: expect.stringMatching(/^catalog\.entity-fetch No entity named/),
      stack: expect.stringContaining('NotFoundError'),
    });
    expect(failed.o).toMatchObject({
      name: 'NotFoundError',
      response: { status: 404 },
    });
    expect(failed.o).not.toHaveProperty('stack');
    expect(failed.o.meta).toEqual(failed.u.meta);
  });

  it('403: task (create) failed with NotAllowedError on both', () => {
    const pairs = pair('denied', {
      upstream: ['initiated', 'failed'],
      ours: ['initiated', 'failed'],
    });
    expect(ours.steps.denied.status).toBe(403);
    compareCommon(pairs, {
      plugin: 'scaffolder',
      eventId: 'task',
      severityLevel: 'medium',
    });
    const failed = pairs[1];
    for (const line of [failed.u, failed.o]) {
      expect(line).toMatchObject({
        name: 'NotAllowedError',
        message: 'scaffolder.task',
        actor: { actorId: 'user:default/mallory' },
      });
    }
    expect(failed.u.meta).toEqual({
      actionType: 'create',
      templateRef: TEMPLATE_REF,
    });
    expect(failed.o.meta).toEqual(failed.u.meta);
    expect(failed.o).toMatchObject({ response: { status: 403 } });
  });
});

/** Values each backend makes up for itself (uuids, cursors over them). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function withoutOwnIds(value: unknown): unknown {
  if (typeof value === 'string') {
    return UUID.test(value) ? '<uuid>' : value;
  }
  if (Array.isArray(value)) {
    return value.map(withoutOwnIds);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'nextCursor' ? '<cursor>' : withoutOwnIds(v),
      ]),
    );
  }
  return value;
}

describe("upstream's own events through our auditor replacement (<pluginId>.<eventId> records)", () => {
  const OK = ['initiated', 'succeeded'];
  it.each([
    ['byName', 'catalog', 'entity-fetch', 'low', OK],
    ['byQuery', 'catalog', 'entity-fetch', 'low', OK],
    ['refresh', 'catalog', 'entity-mutate', 'medium', OK],
    ['locationDryRun', 'catalog', 'location-mutate', 'low', OK],
    ['location', 'catalog', 'location-mutate', 'medium', OK],
    ['task', 'scaffolder', 'task', 'medium', OK],
    // The plugin's own calls, passed on as made: upstream's 404 sequence too.
    ['notFound', 'catalog', 'entity-fetch', 'low', [...OK, 'failed']],
    ['denied', 'scaffolder', 'task', 'medium', ['initiated', 'failed']],
  ] as Array<[StepName, string, string, string, string[]]>)(
    '%s: %s.%s, severity %s, the same fields and meta as upstream',
    (step, plugin, eventId, severityLevel, statuses) => {
      const pairs = pair(
        step,
        { upstream: statuses, ours: statuses },
        () => passthrough,
      );
      compareCommon(pairs, { plugin, eventId, severityLevel });
      for (const { u, o } of pairs) {
        expect(u.meta).toBeDefined();
        expect(withoutOwnIds(o.meta)).toEqual(withoutOwnIds(u.meta));
      }
    },
  );

  it("task execution: upstream's request-less event, the same record (actor plugin:scaffolder)", () => {
    const u = upstream.execution;
    const o = passthrough.execution;
    expect(o.map(l => l.status)).toEqual(u.map(l => l.status));
    u.forEach((ul, i) => {
      const ol = o[i];
      const shared = Object.fromEntries(
        Object.entries(ol).filter(([k]) => !OUR_EXTRAS.has(k)),
      );
      expect({
        ...shared,
        meta: withoutOwnIds(ol.meta),
      }).toEqual({ ...ul, meta: withoutOwnIds(ul.meta) });
      // Medium: upstream prints it at info, the level of all our records.
      expect(ul.level).toBe('info');
    });
  });
});
