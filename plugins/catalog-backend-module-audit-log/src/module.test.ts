import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
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
import { catalogAuditRoutes } from './catalogAuditRoutes';

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  body?: object;
  /** The row this call must hit (method + path pattern). */
  row: string;
  /** The status the real catalog answers this call with. */
  status: number;
  /** What the row's records carry beyond the common fields. */
  check: (init: AuditRecord, done: AuditRecord) => void;
  /** Waits for what the call needs (an entity the catalog is still processing). */
  prepare?: () => Promise<void>;
}

describe('catalog audit on the real catalog backend', () => {
  let backend: AuditedBackend;
  let uid: string;
  let newLocationFile: string;

  beforeAll(async () => {
    backend = await startAuditedBackend();
    await waitForEntity(backend.server, 'component:default/payments-worker');
    await waitForEntity(backend.server, 'component:default/payments-api');
    const res = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/payments-worker')
      .set('Authorization', alice());
    uid = res.body.metadata.uid;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-catalog-'));
    newLocationFile = path.join(dir, 'catalog-info.yaml');
    fs.writeFileSync(
      newLocationFile,
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: brand-new}\nspec: {type: service, lifecycle: experimental, owner: platform-team}\n',
    );
  });

  afterAll(async () => {
    await backend?.stop();
  });

  async function send(
    call: Pick<Call, 'method' | 'url' | 'body'>,
    auth = alice(),
  ) {
    let req = request(backend.server)
      [call.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'](call.url)
      .set('Authorization', auth);
    if (call.body) {
      req = req.send(call.body);
    }
    const res = await req;
    const auditId = res.headers['audit-id'] as string;
    const records = await backend.completion(auditId);
    return { res, records };
  }

  it('records every row of the catalog table, each as one initiation and one completion', async () => {
    let locationId = '';
    const calls: Call[] = [
      {
        method: 'GET',
        url: '/api/catalog/entities?filter=kind=component',
        row: 'GET /entities',
        status: 200,
        check: (init, done) => {
          expect(init.meta).toBeUndefined();
          expect(done.meta).toBeUndefined();
          // Streamed: never buffered, so no body in the record.
          expect(done.response).toEqual({ status: 200 });
        },
      },
      {
        method: 'GET',
        url: '/api/catalog/entities/by-query?filter=kind=component&limit=1',
        row: 'GET /entities/by-query',
        status: 200,
        check: (_i, done) => {
          expect(done.meta?.totalEntities).toBe(2);
          expect(done.meta?.pageInfo).toHaveProperty('nextCursor');
        },
      },
      {
        method: 'POST',
        url: '/api/catalog/entities/by-query',
        body: { query: { kind: 'component' } },
        row: 'POST /entities/by-query',
        status: 200,
        check: (_i, done) =>
          expect(done.meta?.totalEntities).toEqual(expect.any(Number)),
      },
      {
        method: 'GET',
        url: `/api/catalog/entities/by-uid/UID`,
        row: 'GET /entities/by-uid/:uid',
        status: 200,
        check: (init, done) => {
          expect(init.meta).toEqual({ uid });
          expect(done.meta).toEqual({
            uid,
            entityRef: 'component:default/payments-worker',
          });
        },
      },
      {
        method: 'GET',
        url: '/api/catalog/entities/by-name/component/default/payments-api',
        row: 'GET /entities/by-name/:kind/:namespace/:name',
        status: 200,
        check: init =>
          expect(init.meta).toEqual({
            entityRef: 'component:default/payments-api',
          }),
      },
      {
        method: 'GET',
        url: '/api/catalog/entities/by-name/component/default/payments-worker/ancestry',
        row: 'GET /entities/by-name/:kind/:namespace/:name/ancestry',
        status: 200,
        check: (_i, done) =>
          expect(done.meta).toMatchObject({
            rootEntityRef: 'component:default/payments-worker',
            ancestry: expect.arrayContaining([
              'component:default/payments-worker',
            ]),
          }),
      },
      {
        method: 'POST',
        url: '/api/catalog/entities/by-refs',
        body: {
          entityRefs: [
            'component:default/payments-api',
            'system:default/payments',
          ],
        },
        row: 'POST /entities/by-refs',
        status: 200,
        check: init =>
          expect(init.meta).toBeUndefined() /* body is read after initiation */,
      },
      {
        method: 'GET',
        url: '/api/catalog/entity-facets?facet=kind',
        row: 'GET /entity-facets',
        status: 200,
        check: init => expect(init.meta).toEqual({ facets: 'kind' }),
      },
      {
        method: 'POST',
        url: '/api/catalog/entity-facets',
        body: { facets: ['kind'] },
        row: 'POST /entity-facets',
        status: 200,
        check: (_i, done) => expect(done.meta).toEqual({ facets: ['kind'] }),
      },
      {
        method: 'POST',
        url: '/api/catalog/refresh',
        body: { entityRef: 'component:default/payments-api' },
        row: 'POST /refresh',
        status: 200,
        check: (_i, done) =>
          expect(done.meta).toEqual({
            entityRef: 'component:default/payments-api',
          }),
      },
      {
        method: 'POST',
        url: '/api/catalog/validate-entity',
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
        row: 'POST /validate-entity',
        status: 200,
        check: (_i, done) =>
          expect(done.meta).toEqual({
            entityRef: 'component:default/valid-one',
            location: 'url:https://example.com/catalog-info.yaml',
          }),
      },
      {
        method: 'POST',
        url: '/api/catalog/locations',
        body: { type: 'file', target: 'NEW_LOCATION' },
        row: 'POST /locations',
        status: 201,
        check: (_i, done) => {
          expect(done.response?.status).toBe(201);
          expect(done.meta).toMatchObject({
            location: { type: 'file', target: newLocationFile },
            id: expect.any(String),
          });
          expect(done.meta).not.toHaveProperty('isDryLog');
        },
      },
      {
        method: 'GET',
        url: '/api/catalog/locations',
        row: 'GET /locations',
        status: 200,
        check: (init, done) => {
          expect(init.meta).toBeUndefined();
          expect(done.meta).toBeUndefined();
          expect(done.request?.query).toEqual({});
        },
      },
      {
        method: 'POST',
        url: '/api/catalog/locations/by-query',
        body: {},
        row: 'POST /locations/by-query',
        status: 200,
        check: (_i, done) => {
          expect(done.meta).toBeUndefined();
          expect(done.request?.body).toBeUndefined();
        },
      },
      {
        method: 'GET',
        url: '/api/catalog/locations/LOCATION_ID',
        row: 'GET /locations/:id',
        status: 200,
        check: init => expect(init.meta).toEqual({ id: expect.any(String) }),
      },
      {
        method: 'PUT',
        url: '/api/catalog/locations/LOCATION_ID',
        body: { type: 'file', target: 'NEW_LOCATION' },
        row: 'PUT /locations/:id',
        status: 200,
        check: (init, done) => {
          expect(init.meta).toEqual({ id: expect.any(String) });
          expect(done.meta).toEqual({
            id: init.meta?.id,
            location: { type: 'file', target: newLocationFile },
          });
        },
      },
      {
        method: 'GET',
        // The component of the location created above: its location is registered.
        url: '/api/catalog/locations/by-entity/component/default/brand-new',
        row: 'GET /locations/by-entity/:kind/:namespace/:name',
        status: 200,
        prepare: () =>
          waitForEntity(backend.server, 'component:default/brand-new'),
        check: (_i, done) =>
          expect(done.meta).toEqual({
            locationRef: 'component:default/brand-new',
            id: locationId,
          }),
      },
      {
        method: 'POST',
        url: '/api/catalog/analyze-location',
        body: {
          location: {
            type: 'url',
            target: 'https://example.com/repo/catalog-info.yaml',
          },
        },
        row: 'POST /analyze-location',
        status: 200,
        check: (_i, done) =>
          expect(done.meta).toEqual({
            location: {
              type: 'url',
              target: 'https://example.com/repo/catalog-info.yaml',
            },
          }),
      },
      {
        method: 'DELETE',
        url: '/api/catalog/locations/LOCATION_ID',
        row: 'DELETE /locations/:id',
        status: 204,
        check: init => expect(init.meta).toEqual({ id: expect.any(String) }),
      },
      {
        method: 'DELETE',
        url: '/api/catalog/entities/by-uid/UID',
        row: 'DELETE /entities/by-uid/:uid',
        status: 204,
        check: init => expect(init.meta).toEqual({ uid }),
      },
    ];

    // Every row of the table is exercised: adding a row without a call fails here.
    const rows = catalogAuditRoutes.routes.map(r => `${r.method} ${r.path}`);
    expect(new Set(calls.map(c => c.row))).toEqual(new Set(rows));

    for (const call of calls) {
      await call.prepare?.();
      const url = call.url
        .replace('UID', uid)
        .replace('LOCATION_ID', locationId);
      const body = call.body
        ? JSON.parse(
            JSON.stringify(call.body).replace('NEW_LOCATION', newLocationFile),
          )
        : undefined;
      const { res, records } = await send({ method: call.method, url, body });
      expect({ row: call.row, status: res.status }).toEqual({
        row: call.row,
        status: call.status,
      });
      if (call.row === 'POST /locations') {
        locationId = res.body.location.id;
      }
      const row = catalogAuditRoutes.routes.find(
        r => `${r.method} ${r.path}` === call.row,
      )!;
      expect(records).toHaveLength(2);
      const [init, done] = records;
      expect(init).toMatchObject({
        eventName: row.eventName,
        stage: 'initiation',
        status: 'succeeded',
        plugin: 'catalog',
        actor: { actorId: 'user:default/alice' },
        request: { method: call.method, url },
      });
      expect(done).toMatchObject({
        eventName: row.eventName,
        stage: 'completion',
        actor: { actorId: 'user:default/alice' },
        response: { status: call.status },
        status: call.status < 400 ? 'succeeded' : 'failed',
      });
      expect(init.auditId).toBe(done.auditId);
      expect(done.timestamp >= init.timestamp).toBe(true);
      call.check(init, done);
    }
  });

  it('marks every record of a dry-run location creation, and no other record', async () => {
    const { res, records } = await send({
      method: 'POST',
      url: '/api/catalog/locations?dryRun=true',
      body: { type: 'file', target: path.join(EXAMPLES, 'entities.yaml') },
    });
    expect(res.status).toBe(201);
    expect(records.map(r => r.meta?.isDryLog)).toEqual([true, true]);
    expect(records[1].meta?.entityRefs).toEqual(
      expect.arrayContaining(['component:default/payments-api']),
    );
    const others = backend.output
      .records()
      .filter(
        r => r.auditId !== records[0].auditId && r.meta && 'isDryLog' in r.meta,
      );
    expect(others.filter(r => r.eventName !== 'ScaffolderTaskDryRun')).toEqual(
      [],
    );
  });

  it('records a by-name miss (404) as failed, once, with the error', async () => {
    const { res, records } = await send({
      method: 'GET',
      url: '/api/catalog/entities/by-name/component/default/does-not-exist',
    });
    expect(res.status).toBe(404);
    expect(records.map(r => [r.stage, r.status])).toEqual([
      ['initiation', 'succeeded'],
      ['completion', 'failed'],
    ]);
    expect(records[1].errors).toEqual([
      {
        name: 'NotFoundError',
        message: expect.stringContaining('does-not-exist'),
      },
    ]);
  });

  it('records requests without credentials (401) as failed attempts by nobody', async () => {
    const res = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', nobody());
    expect(res.status).toBe(401);
    const records = await backend.completion(res.headers['audit-id']);
    expect(records.map(r => [r.stage, r.status, r.actor.actorId])).toEqual([
      ['initiation', 'succeeded', null],
      ['completion', 'failed', null],
    ]);
    expect(records[1].errors?.[0].name).toBe('AuthenticationError');
  });

  it('records requests with an invalid token (401) the same way', async () => {
    const res = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', 'Bearer not-a-valid-token');
    expect(res.status).toBe(401);
    const records = await backend.completion(res.headers['audit-id']);
    expect(records[1]).toMatchObject({
      status: 'failed',
      actor: { actorId: null },
      response: { status: 401 },
    });
  });

  it('records permission denials (403) as failed, attributed to the denied user', async () => {
    const { res, records } = await send(
      {
        method: 'POST',
        url: '/api/catalog/refresh',
        body: { entityRef: 'component:default/payments-api' },
      },
      mallory(),
    );
    expect(res.status).toBe(403);
    expect(records[1]).toMatchObject({
      eventName: 'CatalogEntityRefresh',
      status: 'failed',
      actor: { actorId: 'user:default/mallory' },
      response: { status: 403 },
      errors: [{ name: 'NotAllowedError', message: expect.any(String) }],
    });
  });

  it("scrubs a refresh's authorizationToken from the whole record, the catalog's error message included", async () => {
    const token = 'canary-refresh-token-3c8e1a';
    const { records } = await send({
      method: 'POST',
      url: '/api/catalog/refresh',
      body: {
        entityRef: 'component:default/payments-api',
        authorizationToken: token,
      },
    });
    expect(records[1].request?.body).toMatchObject({
      authorizationToken: '***',
    });
    // The catalog answers with the token in its error (here: "Unknown mock token '<token>'").
    expect(records[1].status).toBe('failed');
    expect(JSON.stringify(records)).not.toContain(token);
    expect(backend.output.text()).not.toContain(token);
  });

  it('uses and echoes a caller-supplied Audit-ID, and replaces a malformed one', async () => {
    const given = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice())
      .set('Audit-ID', 'trace-1234.abc');
    expect(given.headers['audit-id']).toBe('trace-1234.abc');
    expect(
      (await backend.completion('trace-1234.abc')).map(r => r.stage),
    ).toEqual(['initiation', 'completion']);
    const forged = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice())
      .set('Audit-ID', '"},{"isAuditLog":true');
    expect(forged.headers['audit-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes the completion record before the client receives the response', async () => {
    const before = backend.output.records().length;
    const res = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice());
    // No waiting: the record must already be there when the response arrives.
    const records = backend.records({ auditId: res.headers['audit-id'] });
    expect(records.map(r => r.stage)).toEqual(['initiation', 'completion']);
    expect(backend.output.records().length).toBe(before + 2);
  });

  it('ignores X-Forwarded-For unless a trust-proxy setting says otherwise', async () => {
    const res = await request(backend.server)
      .get('/api/catalog/locations')
      .set('Authorization', alice())
      .set('X-Forwarded-For', '203.0.113.9');
    const [init] = await backend.completion(res.headers['audit-id']);
    expect(init.actor.ip).not.toBe('203.0.113.9');
    expect(init.actor.ip).toMatch(/127\.0\.0\.1|::1/);
  });

  it('does not record other plugins unless configured, nor ignored paths', async () => {
    const before = backend.output.records().length;
    await request(backend.server).get(
      '/api/catalog/.backstage/auth/v1/jwks.json',
    );
    await request(backend.server)
      .get('/api/permission/whatever')
      .set('Authorization', alice());
    await new Promise(r => setTimeout(r, 100));
    expect(backend.output.records().slice(before)).toEqual([]);
  });
});
