import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  coreServices,
  createBackendModule,
  DatabaseService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  alice,
  AuditedBackend,
  mallory,
  startAuditedBackend,
  waitForEntity,
} from '../../../test/support/auditedBackend';
import { KnexAuditStore } from './database/KnexAuditStore';
import { auditLogFeatures } from './feature';

/** Reaches the audit-log plugin's own database and scheduler, as a module of it. */
let pluginDatabase: DatabaseService;
let pluginScheduler: SchedulerService;
const probe = createBackendModule({
  pluginId: 'audit-log',
  moduleId: 'test-probe',
  register(reg) {
    reg.registerInit({
      deps: {
        database: coreServices.database,
        scheduler: coreServices.scheduler,
      },
      async init({ database, scheduler }) {
        pluginDatabase = database;
        pluginScheduler = scheduler;
      },
    });
  },
});

describe('audit-log plugin: store and query API on the real backend', () => {
  let backend: AuditedBackend;
  const api = (path: string, auth = alice()) =>
    request(backend.server)
      .get(`/api/audit-log${path}`)
      .set('Authorization', auth);

  /** Polls the API until the query returns at least `n` items. */
  async function items(
    query: string,
    n = 1,
  ): Promise<Array<Record<string, any>>> {
    for (let i = 0; i < 100; i++) {
      const res = await api(`/events?${query}`);
      expect(res.status).toBe(200);
      if (res.body.items.length >= n) return res.body.items;
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`fewer than ${n} items for ${query}`);
  }

  beforeAll(async () => {
    backend = await startAuditedBackend({
      auditLog: { store: { retention: { days: 30 } } },
      auditLogFeatures: [...auditLogFeatures, probe],
    });
    await waitForEntity(backend.server, 'template:default/hello-audit');
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('stores every record it prints, queryable by each filter', async () => {
    const byName = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', alice());
    const missing = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/nope')
      .set('Authorization', alice());
    const task = await request(backend.server)
      .post('/api/scaffolder/v2/tasks')
      .set('Authorization', alice())
      .send({
        templateRef: 'template:default/hello-audit',
        values: { name: 'store' },
        secrets: { deployKey: 'x-secret' },
      });
    const taskId = task.body.id as string;
    const byNameId = byName.headers['audit-id'];

    const printed = backend.records({ auditId: byNameId });
    const stored = await items(`auditId=${byNameId}&order=asc`, 2);
    expect(stored.map(({ id: _id, ...rest }) => rest)).toEqual(printed);

    const one = await api(`/events/${stored[0].id}`);
    expect(one.body).toEqual(stored[0]);
    expect((await api(`/events/${randomUUID()}`)).status).toBe(404);

    expect(
      (await items('eventName=ScaffolderTaskCreation')).every(
        r => r.eventName === 'ScaffolderTaskCreation',
      ),
    ).toBe(true);
    const many = await items(
      'eventName=ScaffolderTaskCreation&eventName=CatalogEntityFetchByName&limit=500',
      4,
    );
    expect(new Set(many.map(r => r.eventName))).toEqual(
      new Set(['ScaffolderTaskCreation', 'CatalogEntityFetchByName']),
    );
    expect(
      (
        await items(
          'eventName=ScaffolderTaskCreation,CatalogEntityFetchByName&limit=500',
          4,
        )
      ).length,
    ).toBe(many.length);
    expect(
      (await items('actorId=user:default/alice&limit=500')).every(
        r => r.actor.actorId === 'user:default/alice',
      ),
    ).toBe(true);
    const failed = await items(
      `status=failed&auditId=${missing.headers['audit-id']}`,
    );
    expect(failed.map(r => [r.stage, r.response.status])).toEqual([
      ['completion', 404],
    ]);
    expect(
      (await items('stage=initiation&limit=500')).every(
        r => r.stage === 'initiation',
      ),
    ).toBe(true);
    expect(
      (await items('plugin=scaffolder&limit=500')).every(
        r => r.plugin === 'scaffolder',
      ),
    ).toBe(true);
    const byTask = await items(
      `taskId=${taskId}&eventName=ScaffolderTaskCreation`,
    );
    expect(byTask[0]).toMatchObject({
      eventName: 'ScaffolderTaskCreation',
      meta: { taskId },
    });
    expect(
      (await items(`taskId=${taskId}&limit=500`)).every(
        r => r.meta.taskId === taskId,
      ),
    ).toBe(true);
    expect(
      (await items('entityRef=component:default/payments-api')).every(
        r => r.meta.entityRef === 'component:default/payments-api',
      ),
    ).toBe(true);
    expect(
      (await items('q=/entities/by-name/component/default/nope')).every(r =>
        r.request.url.includes('/nope'),
      ),
    ).toBe(true);
    const now = Date.now();
    expect(
      await items(
        `from=${new Date(now - 60_000).toISOString()}&to=${now + 1000}`,
      ),
    ).not.toHaveLength(0);
    const future = await api(`/events?from=${now + 3_600_000}`);
    expect(future.body.items).toEqual([]);
    expect(JSON.stringify(await items('limit=500', 10))).not.toContain(
      'x-secret',
    );
  });

  it('pages with a cursor, newest first, without repeats', async () => {
    const seen: string[] = [];
    let cursor = '';
    let previous = Infinity;
    for (let i = 0; i < 50; i++) {
      const res = await api(
        `/events?limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      );
      for (const r of res.body.items) {
        const ts = Date.parse(r.timestamp);
        expect(ts).toBeLessThanOrEqual(previous);
        previous = ts;
        seen.push(r.id);
      }
      if (!res.body.nextCursor) break;
      cursor = res.body.nextCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(14);
  });

  it.each([
    ['from=yesterday', "'from'"],
    ['limit=0', "'limit'"],
    ['limit=abc', "'limit'"],
    ['status=maybe', "'status'"],
    ['stage=middle', "'stage'"],
    ['order=sideways', "'order'"],
    ['cursor=garbage', "'cursor'"],
    ['color=blue', "'color'"],
    ['actorId=a&actorId=b', "'actorId'"],
    ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', "'from'"],
  ])('rejects %s with a 400 naming the parameter', async (query, name) => {
    const res = await api(`/events?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      name: 'InputError',
      message: expect.stringContaining(name),
    });
  });

  it('denies a user without audit-log.events.read, and that attempt is itself in the trail', async () => {
    const denied = await api('/events?eventName=CatalogEntityFetch', mallory());
    expect(denied.status).toBe(403);
    const attempt = await items(
      `auditId=${denied.headers['audit-id']}&order=asc`,
      2,
    );
    expect(
      attempt.map(r => [r.eventName, r.stage, r.status, r.actor.actorId]),
    ).toEqual([
      ['AuditLogQuery', 'initiation', 'succeeded', 'user:default/mallory'],
      ['AuditLogQuery', 'completion', 'failed', 'user:default/mallory'],
    ]);
    expect(attempt[1].request.query).toEqual({
      eventName: 'CatalogEntityFetch',
    });
    // Allowed queries are audited as well.
    const allowed = await api('/events?limit=1');
    expect(
      (await items(`auditId=${allowed.headers['audit-id']}`, 2))[0].eventName,
    ).toBe('AuditLogQuery');
  });

  it('records that the audit log started', async () => {
    const started = await items('eventName=AuditLogStarted');
    expect(started[0]).toMatchObject({
      plugin: 'audit-log',
      actor: { actorId: 'plugin:audit-log' },
    });
  });

  it('retention deletes exactly the records older than the window', async () => {
    const store = await KnexAuditStore.fromClient(
      await pluginDatabase.getClient(),
    );
    const day = 24 * 60 * 60 * 1000;
    const mk = (ageMs: number) => {
      const id = randomUUID();
      const ts = new Date(Date.now() - ageMs).toISOString();
      return {
        id,
        tsMs: Date.parse(ts),
        plugin: 'catalog',
        eventName: 'RetentionProbe',
        stage: 'completion',
        status: 'succeeded',
        actorId: null,
        auditId: id,
        taskId: null,
        entityRef: null,
        url: null,
        json: JSON.stringify({
          isAuditLog: true,
          eventName: 'RetentionProbe',
          timestamp: ts,
        }),
      };
    };
    const old = mk(30 * day + 60_000);
    const young = mk(30 * day - 60_000);
    await store.insert([old, young]);
    await pluginScheduler.triggerTask('audit-log-retention');
    for (let i = 0; i < 100 && (await store.get(old.id)); i++) {
      await new Promise(r => setTimeout(r, 50));
    }
    expect(await store.get(old.id)).toBeUndefined();
    expect(await store.get(young.id)).toBeDefined();
    expect((await items('eventName=AuditLogQuery&limit=1')).length).toBe(1);
  });
});

describe('audit-log plugin: a query reads what was emitted before it', () => {
  let backend: AuditedBackend;

  beforeAll(async () => {
    // A partial batch would wait a minute: only the read's settle stores it sooner.
    backend = await startAuditedBackend({
      auditLog: { store: { flushIntervalMs: 60_000 } },
    });
    await waitForEntity(backend.server, 'component:default/payments-api');
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it("returns a request's two records to the very next query, and the read's own initiation", async () => {
    const fetched = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', alice());
    const auditId = fetched.headers['audit-id'];
    const res = await request(backend.server)
      .get(`/api/audit-log/events?auditId=${auditId}&order=asc`)
      .set('Authorization', alice());
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((r: Record<string, unknown>) => [r.stage, r.status]),
    ).toEqual([
      ['initiation', 'succeeded'],
      ['completion', 'succeeded'],
    ]);
    const query = await request(backend.server)
      .get('/api/audit-log/events?eventName=AuditLogQuery&order=asc')
      .set('Authorization', alice());
    // The first query's two records, and the initiation of this one.
    expect(
      query.body.items.map((r: Record<string, unknown>) => r.stage),
    ).toEqual(['initiation', 'completion', 'initiation']);
  });
});
