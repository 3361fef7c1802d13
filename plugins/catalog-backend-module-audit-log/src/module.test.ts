import request from 'supertest';
import {
  alice,
  AuditedBackend,
  startAuditedBackend,
  waitForEntity,
} from '../../../test/support/auditedBackend';

describe('catalog audit (real catalog backend)', () => {
  let backend: AuditedBackend;

  beforeAll(async () => {
    backend = await startAuditedBackend();
    await waitForEntity(backend.server, 'component:default/payments-api');
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('records a by-name fetch as initiation + completion sharing one auditId', async () => {
    const res = await request(backend.server)
      .get('/api/catalog/entities/by-name/component/default/payments-api')
      .set('Authorization', alice());
    expect(res.status).toBe(200);
    const auditId = res.headers['audit-id'];
    expect(auditId).toMatch(/^[0-9a-f-]{36}$/);
    const records = await backend.completion(auditId);
    expect(records.map(r => r.stage)).toEqual(['initiation', 'completion']);
    const [init, done] = records;
    expect(init).toMatchObject({
      isAuditLog: true,
      eventName: 'CatalogEntityFetchByName',
      plugin: 'catalog',
      status: 'succeeded',
      actor: { actorId: 'user:default/alice' },
      meta: { entityRef: 'component:default/payments-api' },
      request: {
        method: 'GET',
        url: '/api/catalog/entities/by-name/component/default/payments-api',
      },
    });
    expect(done).toMatchObject({ status: 'succeeded', response: { status: 200 } });
  });
});
