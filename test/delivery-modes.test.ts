/**
 * Sinks and formats as extension points, and the delivery modes, on the real
 * catalog: a module from outside the audit-log packages
 * (`support/externalSinkModule.ts`) registers its own sink type and format;
 * `strict` refuses requests it cannot record before their handler runs,
 * `blocking` holds each response until its completion record is delivered,
 * `best-effort` drops only past its bound and counts each drop exactly; and
 * OpenTelemetry's in-memory reader sees what the sinks did.
 */
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import request from 'supertest';
import express from 'express';
import {
  BackendFeature,
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import {
  alice,
  AuditedBackend,
  startAuditedBackend,
  waitForEntity,
} from './support/auditedBackend';
import { auditLogProbe, installMetricReader } from './support/pipelineProbes';
import { externalSinkModule, ledger } from './support/externalSinkModule';

const metric = installMetricReader();

/** A plugin whose one route answers after a second: in flight when the backend stops. */
const slowPlugin = createBackendPlugin({
  pluginId: 'slow',
  register(env) {
    env.registerInit({
      deps: { httpRouter: coreServices.httpRouter },
      async init({ httpRouter }) {
        const router = express.Router();
        router.get('/wait', (_req, res) => {
          setTimeout(() => res.json({ done: true }), 1000);
        });
        httpRouter.use(router);
      },
    });
  },
});

let auditLog: AuditLogService;
const probe = auditLogProbe(audit => {
  auditLog = audit;
}, 'test-audit-probe');

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, 20));
  }
}

function locationFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-modes-'));
  const file = path.join(dir, 'catalog-info.yaml');
  fs.writeFileSync(
    file,
    `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: ${name}}\nspec: {type: service, lifecycle: experimental, owner: platform-team}\n`,
  );
  return file;
}

describe('a sink and a format from a module outside the audit-log packages', () => {
  let backend: AuditedBackend;

  beforeAll(async () => {
    ledger.reset();
    backend = await startAuditedBackend({
      auditLog: {
        sinks: {
          ledger: { type: 'ledger', queue: { flushIntervalMs: 5 } },
        },
      },
      features: [externalSinkModule, probe],
    });
    await waitForEntity(backend.server, 'component:default/payments-api');
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('receives every record, rendered in its own format, once', async () => {
    const res = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', alice());
    const auditId = res.headers['audit-id'];
    await until(
      () => ledger.lines().filter(l => l.startsWith(auditId)).length === 2,
    );
    expect(ledger.lines().filter(l => l.startsWith(auditId))).toEqual([
      `${auditId} CatalogEntityFetchByName initiation succeeded`,
      `${auditId} CatalogEntityFetchByName completion succeeded`,
    ]);
    // stdout kept its own format for the same records.
    expect(backend.records({ auditId }).map(r => r.stage)).toEqual([
      'initiation',
      'completion',
    ]);
  });

  it('retries a failing destination in order, losing nothing, and OpenTelemetry counts what happened', async () => {
    const retriedBefore = await metric('audit_log.sink.retried', {
      sink: 'ledger',
    });
    ledger.behaviour = { kind: 'fail' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(backend.server)
        .get('/api/catalog/entities/by-name/component/default/payments-api')
        .set('Authorization', alice());
      ids.push(res.headers['audit-id']);
    }
    await until(() => ledger.attempts >= 3);
    ledger.behaviour = { kind: 'accept' };
    await auditLog.flush(5000);
    const mine = ledger
      .lines()
      .filter(l => ids.some(id => l.startsWith(id)))
      .map(l => l.split(' ').slice(0, 3).join(' '));
    expect(mine).toEqual(
      ids.flatMap(id => [
        `${id} CatalogEntityFetchByName initiation`,
        `${id} CatalogEntityFetchByName completion`,
      ]),
    );
    const stats = auditLog.stats().sinks.ledger;
    expect(stats.queued).toBe(0);
    expect(stats.dropped).toEqual({});
    expect(stats.delivered).toBe(ledger.entries.length);
    expect(await metric('audit_log.sink.delivered', { sink: 'ledger' })).toBe(
      stats.delivered,
    );
    expect(await metric('audit_log.sink.retried', { sink: 'ledger' })).toBe(
      stats.retried,
    );
    expect(stats.retried).toBeGreaterThan(retriedBefore);
    expect(await metric('audit_log.sink.delivered', { sink: 'stdout' })).toBe(
      auditLog.stats().sinks.stdout.delivered,
    );
    expect(await metric('audit_log.records', { outcome: 'emitted' })).toBe(
      auditLog.stats().emitted,
    );
  });
});

describe('delivery modes', () => {
  let backend: AuditedBackend | undefined;

  afterEach(async () => {
    ledger.release();
    await backend?.stop();
    backend = undefined;
    ledger.reset();
  });

  async function start(
    sink: Record<string, unknown>,
    auditLog: Record<string, unknown> = {},
    features: BackendFeature[] = [],
  ) {
    ledger.reset();
    backend = await startAuditedBackend({
      auditLog: {
        shutdownTimeoutMs: 1000,
        ...auditLog,
        sinks: { ledger: { type: 'ledger', ...sink } },
      },
      features: [externalSinkModule, probe, ...features],
    });
    await waitForEntity(backend.server, 'component:default/payments-api');
    return backend;
  }

  it('strict: a request whose initiation record cannot be delivered gets 503, and its handler never runs', async () => {
    const b = await start({ delivery: 'strict', waitTimeoutMs: 300 });
    ledger.behaviour = { kind: 'fail' };
    const target = locationFile('strictly-refused');
    const refused = await request(b.server)
      .post('/api/catalog/locations')
      .set('Authorization', alice())
      .send({ type: 'file', target });
    expect(refused.status).toBe(503);
    expect(refused.body.error.name).toBe('ServiceUnavailableError');

    ledger.behaviour = { kind: 'accept' };
    // The handler never ran: the catalog has no such location.
    const locations = await request(b.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice());
    expect(locations.status).toBe(200);
    expect(JSON.stringify(locations.body)).not.toContain(target);
    // The refusal is on stdout: an initiation, and a failed 503 completion.
    const printed = b.records({ auditId: refused.headers['audit-id'] });
    expect(printed.map(r => [r.stage, r.status, r.response?.status])).toEqual([
      ['initiation', 'succeeded', undefined],
      ['completion', 'failed', 503],
    ]);

    // With the destination back, requests run and are recorded.
    const created = await request(b.server)
      .post('/api/catalog/locations')
      .set('Authorization', alice())
      .send({ type: 'file', target });
    expect(created.status).toBe(201);
  });

  it('blocking: the completion record is delivered before the response ends', async () => {
    const b = await start({ delivery: 'blocking' });
    ledger.behaviour = { kind: 'accept', delayMs: 250 };
    const sent = Date.now();
    const res = await request(b.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', alice());
    const received = Date.now();
    expect(res.status).toBe(200);
    const completion = ledger.entries.find(
      e =>
        e.record.auditId === res.headers['audit-id'] &&
        e.record.stage === 'completion',
    );
    expect(completion).toBeDefined();
    expect(completion!.at).toBeGreaterThanOrEqual(sent);
    expect(completion!.at).toBeLessThanOrEqual(received);
  });

  it('blocking: a failing sink never fails the request; it waits at most waitTimeoutMs', async () => {
    const b = await start({ delivery: 'blocking', waitTimeoutMs: 200 });
    ledger.behaviour = { kind: 'hang' };
    const started = Date.now();
    const res = await request(b.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', alice());
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('best-effort: past maxRecords every record is dropped and counted, exactly', async () => {
    const b = await start({
      queue: { maxRecords: 10, batchSize: 4, flushIntervalMs: 1 },
    });
    ledger.behaviour = { kind: 'hang' };
    const before = auditLog.stats().sinks.ledger;
    const droppedMetricBefore = await metric('audit_log.sink.dropped', {
      sink: 'ledger',
      reason: 'queue-full',
    });
    for (let i = 0; i < 15; i++) {
      const res = await request(b.server)
        .get('/api/catalog/entities/by-name/component/default/payments-api')
        .set('Authorization', alice());
      expect(res.status).toBe(200);
    }
    await b.completion(b.records().slice(-1)[0].auditId);
    const after = auditLog.stats().sinks.ledger;
    // 30 records arrived while the destination hung; the queue (waiting and
    // in delivery) held 10 minus what it already held.
    const arrived = 30;
    const room = 10 - before.queued;
    expect(after.queued).toBe(10);
    expect(
      (after.dropped['queue-full'] ?? 0) - (before.dropped['queue-full'] ?? 0),
    ).toBe(arrived - room);
    expect(
      (await metric('audit_log.sink.dropped', {
        sink: 'ledger',
        reason: 'queue-full',
      })) - droppedMetricBefore,
    ).toBe(arrived - room);
    expect(await metric('audit_log.sink.queue_depth', { sink: 'ledger' })).toBe(
      10,
    );
  });

  it('shutdown: the sinks drain within auditLog.shutdownTimeoutMs; what a hung destination still holds is counted as dropped', async () => {
    const b = await start(
      { queue: { flushIntervalMs: 1 } },
      { shutdownTimeoutMs: 1500 },
    );
    ledger.behaviour = { kind: 'accept', delayMs: 50 };
    const get = () =>
      request(b.server)
        .get('/api/catalog/entities/by-name/component/default/payments-api')
        .set('Authorization', alice());
    const delivered = await get();
    await auditLog.flush(2000);
    expect(
      ledger.entries.filter(
        e => e.record.auditId === delivered.headers['audit-id'],
      ),
    ).toHaveLength(2);
    ledger.behaviour = { kind: 'hang' };
    for (let i = 0; i < 3; i++) {
      await get();
    }
    const statsBefore = auditLog.stats().sinks.ledger;
    const started = Date.now();
    await b.stop();
    backend = undefined;
    const took = Date.now() - started;
    // The audit log's share of the stop is bounded by shutdownTimeoutMs; the
    // rest is the catalog's and scaffolder's own shutdown.
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(1500 + 5000);
    const after = auditLog.stats().sinks.ledger;
    // Everything still queued, plus the AuditLogStopped record, was given up
    // on at the deadline, and counted.
    expect(after.queued).toBe(0);
    expect(after.dropped.shutdown).toBe(statsBefore.queued + 1);
    expect(after.delivered).toBe(statsBefore.delivered);
  });

  it('shutdown: the completion of a request still being answered is delivered, not dropped', async () => {
    const b = await start(
      {},
      { plugins: ['catalog', 'slow'], shutdownTimeoutMs: 5000 },
      [slowPlugin],
    );
    const pending = request(b.server)
      .get('/api/slow/wait')
      .set('Authorization', alice())
      .then(
        res => res,
        error => error,
      );
    await until(() =>
      b
        .records()
        .some(r => r.eventName === 'HttpRequest' && r.plugin === 'slow'),
    );
    await b.stop();
    backend = undefined;
    await pending;
    const slow = ledger.entries.filter(e => e.record.plugin === 'slow');
    expect(slow.map(e => e.record.stage)).toEqual(['initiation', 'completion']);
    expect(auditLog.stats().sinks.ledger.dropped).toEqual({});
  });
});
