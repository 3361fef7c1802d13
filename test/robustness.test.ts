/**
 * Bad input, failures and load: the audit log must never break the request
 * it observes, never crash the backend, and never drop a record silently.
 * Runs the real catalog plus a small demo plugin whose routes misbehave on
 * purpose (a route that throws, one whose meta extractor throws, one that uses
 * the plugin's own auditor).
 */
import { createHash } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import {
  coreServices,
  createBackendModule,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  AuditLogService,
  auditLogRouteTablesServiceRef,
  auditLogServiceRef,
  auditLogSinkTypesServiceRef,
  defineAuditRoutes,
} from '@backstage-audit/plugin-audit-log-node';
import { createRecordingSinkType } from '@backstage-audit/plugin-audit-log-node/testUtils';
import {
  alice,
  AuditedBackend,
  startAuditedBackend,
  waitForEntity,
} from './support/auditedBackend';

const CANARY = 'canary-robust-2d9e';

const demoRoutes = defineAuditRoutes('demo', [
  { method: 'GET', path: '/throws', eventName: 'DemoThrow' },
  {
    method: 'GET',
    path: '/bad-meta',
    eventName: 'DemoBadMeta',
    meta: () => {
      throw new Error('extractor bug');
    },
  },
  { method: 'POST', path: '/audited', eventName: 'DemoAudited' },
]);

const demoPlugin = createBackendPlugin({
  pluginId: 'demo',
  register(reg) {
    reg.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        auditor: coreServices.auditor,
      },
      async init({ httpRouter, auditor }) {
        const router = express.Router();
        router.use(express.json());
        router.get('/throws', () => {
          throw new Error('handler exploded');
        });
        router.get('/bad-meta', (_req, res) => {
          res.json({ ok: true });
        });
        router.post('/audited', (_req, res) => {
          res.json({ ok: true });
        });
        router.get('/unmapped', (_req, res) => {
          res.status(204).end();
        });
        // A plugin's own background audit event, with a secret in its meta.
        router.post('/job', async (_req, res) => {
          const event = await auditor.createEvent({
            eventId: 'nightly-job',
            meta: { target: 'db', apiKey: CANARY },
          });
          await event.success({ meta: { rows: 3 } });
          res.status(202).end();
        });
        httpRouter.use(router);
      },
    });
  },
});

/** The demo plugin's route table, registered as any plugin's is. */
const demoRouteTable = createServiceFactory({
  service: auditLogRouteTablesServiceRef,
  deps: {},
  factory: () => demoRoutes,
});

/** A sink that always throws, and one that records: the second must still get every record. */
const brokenSinkType = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: {},
  factory: () => ({
    type: 'broken',
    deliveryModes: ['sync' as const],
    create: () => ({
      writeSync() {
        throw new Error('disk on fire');
      },
      async deliver() {
        throw new Error('disk on fire');
      },
    }),
  }),
});
const recording = createRecordingSinkType();

let auditLog: AuditLogService;
const probe = createBackendModule({
  pluginId: 'demo',
  moduleId: 'test-probe',
  register(reg) {
    reg.registerInit({
      deps: { audit: auditLogServiceRef },
      async init({ audit }) {
        auditLog = audit;
      },
    });
  },
});

describe('robustness', () => {
  let backend: AuditedBackend;

  beforeAll(async () => {
    backend = await startAuditedBackend({
      auditLog: {
        plugins: ['catalog', 'scaffolder', 'demo'],
        body: { maxBytes: 2048 },
        trustProxy: 'loopback',
        events: {
          responseBody: ['CatalogLocationFetch', 'CatalogEntityFetch'],
        },
        levels: { events: { CatalogLocationFetch: 'warn' } },
        sinks: {
          broken: { type: 'broken' },
          recording: { type: 'recording' },
        },
      },
      features: [
        demoPlugin,
        demoRouteTable,
        brokenSinkType,
        recording.factory(),
        probe,
      ],
    });
    await waitForEntity(backend.server, 'component:default/payments-api');
  });

  afterAll(async () => {
    await backend?.stop();
    expect(backend.output.text()).not.toContain(CANARY);
  });

  const post = (url: string) =>
    request(backend.server).post(url).set('Authorization', alice());

  it('truncates a body over the cap with an explicit marker, and the request succeeds', async () => {
    const entityRefs = Array.from(
      { length: 400 },
      (_, i) => `component:default/c-${i}`,
    );
    const res = await post('/api/catalog/entities/by-refs').send({
      entityRefs,
    });
    expect(res.status).toBe(200);
    const [, done] = await backend.completion(res.headers['audit-id']);
    const body = done.request?.body as {
      truncated: boolean;
      originalBytes: number;
      preview: string;
    };
    expect(body.truncated).toBe(true);
    expect(body.originalBytes).toBeGreaterThan(2048);
    expect(body.preview.length).toBeLessThanOrEqual(2048);
    // Meta still says what was asked for, capped and counted.
    expect(done.meta).toMatchObject({ entityRefsTotal: 400 });
    expect((done.meta?.entityRefs as string[]).length).toBe(100);
  });

  it('records a malformed JSON body as a failed request without breaking anything', async () => {
    const res = await post('/api/catalog/refresh')
      .set('Content-Type', 'application/json')
      .send('{"entityRef": "component:default/x", ');
    expect(res.status).toBe(400);
    const records = await backend.completion(res.headers['audit-id']);
    expect(records.map(r => [r.stage, r.status])).toEqual([
      ['initiation', 'succeeded'],
      ['completion', 'failed'],
    ]);
    expect(records[1].request?.body).toBeUndefined();
  });

  it('copes with a non-JSON body', async () => {
    const res = await post('/api/catalog/refresh')
      .set('Content-Type', 'text/plain')
      .send(`password=${CANARY}`);
    const records = await backend.completion(res.headers['audit-id']);
    expect(records).toHaveLength(2);
  });

  it('copes with a deeply nested body', async () => {
    let deep: unknown = { password: CANARY };
    for (let i = 0; i < 2000; i++) deep = { d: deep };
    const res = await post('/api/catalog/entities/by-refs').send({
      entityRefs: [],
      deep,
    });
    const [, done] = await backend.completion(res.headers['audit-id']);
    expect(JSON.stringify(done.request?.body)).toContain(
      '[Truncated: too deep]',
    );
  });

  it('records a body the plugin refuses as too large', async () => {
    const huge = 'x'.repeat(11 * 1024 * 1024);
    const res = await post('/api/catalog/entities/by-refs').send({
      entityRefs: [],
      huge,
    });
    expect(res.status).toBe(400); // the catalog reports body-parser's 413 as an InputError
    const [, done] = await backend.completion(res.headers['audit-id']);
    expect(done).toMatchObject({
      status: 'failed',
      response: { status: 400 },
      errors: [{ name: 'InputError', message: 'request entity too large' }],
    });
    expect(done.request?.body).toBeUndefined();
  });

  it('records a handler that throws exactly once, as failed, with a redacted error', async () => {
    const res = await request(backend.server)
      .get('/api/demo/throws')
      .set('Authorization', alice());
    expect(res.status).toBe(500);
    await backend.completion(res.headers['audit-id']);
    await new Promise(r => setTimeout(r, 50));
    const records = backend.records({ auditId: res.headers['audit-id'] });
    expect(records.map(r => r.stage)).toEqual(['initiation', 'completion']);
    expect(records[1]).toMatchObject({
      eventName: 'DemoThrow',
      status: 'failed',
      response: { status: 500 },
      errors: [
        { name: 'Error', message: expect.stringContaining('handler exploded') },
      ],
    });
    expect(records[1].errors?.[0]).not.toHaveProperty('stack');
  });

  it('writes the record even when a meta extractor throws, and says so', async () => {
    const res = await request(backend.server)
      .get('/api/demo/bad-meta')
      .set('Authorization', alice());
    expect(res.status).toBe(200);
    const [, done] = await backend.completion(res.headers['audit-id']);
    expect(done.errors).toEqual([
      { name: 'AuditMetaError', message: 'extractor bug' },
    ]);
  });

  it('records unmapped routes of a configured plugin as HttpRequest', async () => {
    const res = await request(backend.server)
      .get('/api/demo/unmapped')
      .set('Authorization', alice());
    const [init] = await backend.completion(res.headers['audit-id']);
    expect(init).toMatchObject({ eventName: 'HttpRequest', plugin: 'demo' });
  });

  it("routes a plugin's own auditor events through the redacting pipeline", async () => {
    await request(backend.server)
      .post('/api/demo/job')
      .set('Authorization', alice());
    const job = backend.output
      .records()
      .filter(r => r.eventName === 'demo.nightly-job');
    expect(job.map(r => [r.stage, r.status])).toEqual([
      ['initiation', 'succeeded'],
      ['completion', 'succeeded'],
    ]);
    expect(job[1].meta).toEqual({ target: 'db', apiKey: '***', rows: 3 });
    expect(job[1].actor.actorId).toBe('plugin:demo');
  });

  it('keeps serving and keeps every record when one sink throws; the failure is counted', async () => {
    const before = recording.lines.length;
    const brokenBefore =
      auditLog.stats().sinks.broken.dropped['write-failed'] ?? 0;
    const res = await post('/api/demo/audited').send({ a: 1 });
    expect(res.status).toBe(200);
    await backend.completion(res.headers['audit-id']);
    expect(
      recording
        .records()
        .slice(before)
        .map(r => [r.auditId, r.stage]),
    ).toEqual([
      [res.headers['audit-id'], 'initiation'],
      [res.headers['audit-id'], 'completion'],
    ]);
    expect(auditLog.stats().sinks.broken.dropped['write-failed']).toBe(
      brokenBefore + 2,
    );
    expect(auditLog.stats().sinks.recording).toMatchObject({
      delivered: before + 2,
      dropped: {},
    });
  });

  it('records response bodies only for configured events, never for streamed ones', async () => {
    const locations = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice());
    const [, done] = await backend.completion(locations.headers['audit-id']);
    expect(done.response?.body).toEqual(locations.body);
    expect(done.level).toBe('warn');
    const entities = await request(backend.server)
      .get('/api/catalog/entities')
      .set('Authorization', alice());
    expect(entities.status).toBe(200);
    const [, streamed] = await backend.completion(entities.headers['audit-id']);
    expect(streamed.response).toEqual({ status: 200 });
    expect(streamed.level).toBe('info');
  });

  it('takes the client address from X-Forwarded-For when the proxy is trusted', async () => {
    const res = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice())
      .set('X-Forwarded-For', '203.0.113.9')
      .set('User-Agent', 'audit-test/1.0');
    const [init] = await backend.completion(res.headers['audit-id']);
    const token = alice().replace(/^Bearer /, '');
    expect(init.actor).toEqual({
      actorId: 'user:default/alice',
      ip: '203.0.113.9',
      hostname: '203.0.113.9',
      client: 'audit-test/1.0',
      tokenFingerprint: `sha256:${createHash('sha256')
        .update(token)
        .digest('hex')
        .slice(0, 16)}`,
    });
  });

  it('writes every record of 300 concurrent requests exactly once, none interleaved', async () => {
    const before = backend.output.records().length;
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        i % 2
          ? request(backend.server)
              .get(
                '/api/catalog/entities/by-name/component/default/payments-api',
              )
              .set('Authorization', alice())
          : post('/api/demo/audited').send({ i }),
      ),
    );
    const ids = responses.map(r => r.headers['audit-id'] as string);
    expect(new Set(ids).size).toBe(300);
    await Promise.all(ids.map(id => backend.completion(id)));
    // records() parses every audit line: an interleaved line would throw here.
    const records = backend.output.records().slice(before);
    expect(records).toHaveLength(600);
    for (const id of ids) {
      expect(records.filter(r => r.auditId === id).map(r => r.stage)).toEqual([
        'initiation',
        'completion',
      ]);
    }
  });
});
