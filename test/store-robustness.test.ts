/**
 * One request must never stop the store. Each class of value a database may
 * refuse (a 300-character task id, an entity ref longer than its column, NUL
 * in route parameters and query keys and values, an 8 KB query string) is
 * sent by a caller over HTTP to the real plugins; afterwards the records of
 * that request and of a request made after it are stored and queryable.
 * Runs on real SQLite and on the real PostgreSQL at 127.0.0.1:5432, each
 * plugin in its own database, as a portal runs them.
 */
import { randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import request from 'supertest';
import { mockServices } from '@backstage/backend-test-utils';
import {
  alice,
  AuditedBackend,
  startAuditedBackend,
  waitForEntity,
} from './support/auditedBackend';

const PG = 'postgresql://postgres@127.0.0.1:5432/postgres';

const BAD_REQUESTS: Array<[string, string]> = [
  ['a 300-character task id', `/api/scaffolder/v2/tasks/${'t'.repeat(300)}`],
  [
    'an entity ref longer than its column',
    `/api/catalog/entities/by-name/component/default/${'n'.repeat(300)}`,
  ],
  [
    'NUL in a route parameter',
    '/api/catalog/entities/by-name/component/default/a%00b',
  ],
  ['NUL in a task id', '/api/scaffolder/v2/tasks/x%00y'],
  [
    'NUL in query keys and values',
    '/api/catalog/entities/by-query?limit=1&k%00ey=v%00al',
  ],
  [
    'an 8 KB query string',
    `/api/catalog/entities/by-query?limit=1&filter=${'x'.repeat(8192)}`,
  ],
];

describe.each([
  ['SQLite', undefined],
  ['PostgreSQL', PG],
])('the store on %s never stalls on a bad value', (_name, pg) => {
  let backend: AuditedBackend;
  const prefix = `audit_robust_${randomUUID().slice(0, 8)}_`;

  beforeAll(async () => {
    backend = await startAuditedBackend({
      config: pg
        ? {
            backend: {
              database: {
                client: 'pg',
                connection: PG,
                prefix,
              },
            },
          }
        : {},
      features: pg ? [mockServices.database.factory()] : [],
    });
    await waitForEntity(backend.server, 'component:default/payments-api');
  });

  afterAll(async () => {
    await backend?.stop();
    if (pg) {
      const admin = knexFactory({ client: 'pg', connection: pg });
      try {
        const { rows } = await admin.raw(
          'select datname from pg_database where datname like ?',
          [`${prefix}%`],
        );
        for (const { datname } of rows as Array<{ datname: string }>) {
          await admin.raw(`drop database if exists "${datname}" with (force)`);
        }
      } finally {
        await admin.destroy();
      }
    }
  });

  async function stored(auditId: string): Promise<Array<Record<string, any>>> {
    for (let i = 0; i < 200; i++) {
      const res = await request(backend.server)
        .get(`/api/audit-log/events?auditId=${auditId}&order=asc`)
        .set('Authorization', alice());
      expect(res.status).toBe(200);
      if (res.body.items.length >= 2) {
        return res.body.items;
      }
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`records of ${auditId} never reached the store`);
  }

  it.each(BAD_REQUESTS)(
    'stores %s, and the records after it',
    async (_what, url) => {
      const bad = await request(backend.server)
        .get(url)
        .set('Authorization', alice());
      const badId = bad.headers['audit-id'];
      expect(badId).toBeTruthy();
      const after = await request(backend.server)
        .get('/api/catalog/entities/by-name/component/default/payments-api')
        .set('Authorization', alice());
      expect(after.status).toBe(200);

      const afterRecords = await stored(after.headers['audit-id']);
      expect(afterRecords.map(r => r.stage)).toEqual([
        'initiation',
        'completion',
      ]);
      const badRecords = await stored(badId);
      expect(badRecords.map(r => [r.auditId, r.stage])).toEqual([
        [badId, 'initiation'],
        [badId, 'completion'],
      ]);
      // Stored in full: the printed record and the stored one are the same.
      const printed = backend.records({ auditId: badId });
      expect(badRecords.map(({ id: _id, ...rest }) => rest)).toEqual(printed);
    },
  );

  it('finds a long task id by the same id through the query API', async () => {
    const taskId = 'q'.repeat(300);
    const res = await request(backend.server)
      .get(`/api/scaffolder/v2/tasks/${taskId}`)
      .set('Authorization', alice());
    await stored(res.headers['audit-id']);
    const found = await request(backend.server)
      .get(`/api/audit-log/events?taskId=${taskId}`)
      .set('Authorization', alice());
    expect(found.status).toBe(200);
    expect(found.body.items.map((r: any) => r.meta.taskId)).toEqual([
      taskId,
      taskId,
    ]);
  });
});
