import { randomUUID } from 'node:crypto';
import knexFactory, { Knex } from 'knex';
import { TestDatabases } from '@backstage/backend-test-utils';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { KnexAuditStore } from './KnexAuditStore';
import { storeSink } from '../__testUtils__/storeSink';

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * Makes the real database refuse rows, as it refuses a value it cannot hold:
 * a row whose JSON mentions "poison" (its minimal form does not), and any row
 * whose audit id is "reject-me" (its minimal form too).
 */
async function addRefusals(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      create function audit_refuse() returns trigger as $$
      begin
        if new.record like '%poison%' or new.audit_id = 'reject-me' then
          raise exception 'refused by test trigger' using errcode = '22023';
        end if;
        return new;
      end $$ language plpgsql`);
    await knex.raw(
      'create trigger audit_refuse before insert on audit_events for each row execute function audit_refuse()',
    );
  } else {
    await knex.raw(`
      create trigger audit_refuse before insert on audit_events
      when new.record like '%poison%' or new.audit_id = 'reject-me'
      begin select raise(abort, 'refused by test trigger'); end`);
  }
}

function record(i: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    level: 'info',
    message: 'm',
    isAuditLog: true,
    schemaVersion: '2',
    timestamp: new Date(1_700_000_000_000 + i).toISOString(),
    auditId: randomUUID(),
    plugin: 'catalog',
    eventName: 'CatalogEntityFetch',
    stage: 'completion',
    status: 'succeeded',
    actor: { actorId: 'user:default/alice' },
    ...extra,
  };
}

describe.each(databases.eachSupportedId())(
  'store isolation of refused rows on %s',
  databaseId => {
    it('stores the rest of a batch, a refused row in minimal form, and counts what it could not store', async () => {
      const knex = await databases.init(databaseId);
      const store = await KnexAuditStore.fromClient(knex);
      await addRefusals(knex);
      const sink = storeSink(store, { batchSize: 10 });
      const records = Array.from({ length: 10 }, (_, i) => record(i));
      records[3] = record(3, { meta: { note: 'poison' } });
      records[7] = record(7, { auditId: 'reject-me' });
      for (const r of records) {
        sink.write(r);
      }
      await sink.flush();
      // The store goes on: later records are stored as usual.
      const later = record(20);
      sink.write(later);
      await sink.flush();

      const rows = await knex('audit_events').select('audit_id', 'record');
      const byAuditId = new Map(
        rows.map(r => [r.audit_id, JSON.parse(r.record)]),
      );
      const [poisoned, rejected] = [records[3], records[7]];
      expect(byAuditId.has(rejected.auditId)).toBe(false);
      expect(byAuditId.get(poisoned.auditId)).toMatchObject({
        auditId: poisoned.auditId,
        eventName: 'CatalogEntityFetch',
        errors: [{ name: 'AuditStoreRejected' }],
      });
      expect(JSON.stringify(byAuditId.get(poisoned.auditId))).not.toContain(
        'poison',
      );
      const intact = [...records, later].filter(
        r => r !== poisoned && r !== rejected,
      );
      for (const r of intact) {
        expect(byAuditId.get(r.auditId)).toEqual(r);
      }
      expect(sink.stats()).toMatchObject({
        delivered: 9,
        dropped: { 'stored-minimal': 1, refused: 1 },
        queued: 0,
      });
      expect(sink.errors.map(e => e.message)).toEqual([
        expect.stringContaining('a minimal form was stored'),
        expect.stringContaining('even in minimal form'),
      ]);
      await sink.close();
    });

    it('retries the whole batch, rejecting nothing, while the database is unreachable', async () => {
      const knex = await databases.init(databaseId);
      await KnexAuditStore.fromClient(knex);
      const unreachable =
        knex.client.config.client === 'pg'
          ? knexFactory({
              client: 'pg',
              connection: { host: '127.0.0.1', port: 1, user: 'postgres' },
              pool: { min: 0, max: 1 },
              acquireConnectionTimeout: 500,
            })
          : knexFactory({
              client: 'better-sqlite3',
              connection: { filename: '/nonexistent-dir/audit.sqlite' },
              useNullAsDefault: true,
              pool: { min: 0, max: 1 },
              acquireConnectionTimeout: 500,
            });
      // The real store on a connection that cannot be made.
      const down = await KnexAuditStore.create({
        database: {
          getClient: async () => unreachable,
          migrations: { skip: true },
        },
      });
      const sink = storeSink(down, { maxRetryDelayMs: 100 });
      for (let i = 0; i < 5; i++) {
        sink.write(record(i));
      }
      await sink.flush(1500);
      expect(sink.stats()).toMatchObject({
        delivered: 0,
        dropped: {},
        queued: 5,
      });
      expect(sink.stats().retried).toBeGreaterThan(0);
      await unreachable.destroy();
    });
  },
);
