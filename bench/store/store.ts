/**
 * Store benchmark (issue 5): sustained insert rate through the real writer
 * (StoreSink -> KnexAuditStore) into PostgreSQL and SQLite, and the latency
 * of filtered pages at N stored rows (1M by default; `--rows=` to change).
 *
 *   node --import tsx bench/store/store.ts [--rows=1000000] [--inserts=100000] [--json=out.json]
 *
 * PostgreSQL: a throwaway database on 127.0.0.1:5432, dropped afterwards.
 * SQLite: a file database in a temp dir (what `better-sqlite3` does on disk).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import knexFactory, { Knex } from 'knex';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import {
  KnexAuditStore,
  StoreSink,
} from '@backstage-audit/plugin-audit-log-backend';

const arg = (name: string, fallback: number) => {
  const hit = process.argv.find(a => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const INSERTS = arg('inserts', 100_000);
const QUERIES = 200;
const jsonOut = process.argv.find(a => a.startsWith('--json='))?.split('=')[1];

const EVENTS = [
  'CatalogEntityFetchByName',
  'CatalogEntityFetch',
  'QueriedCatalogEntityFetch',
  'ScaffolderTaskCreation',
  'ScaffolderTaskStepExecution',
  'CatalogEntityDeletion',
  'CatalogLocationCreation',
  'ScaffolderTaskDryRun',
];

/** A representative ~1.1 KB completion record. */
function record(i: number): AuditRecord {
  return {
    level: 'info',
    message: 'CatalogEntityFetchByName completion succeeded',
    isAuditLog: true,
    schemaVersion: '1',
    timestamp: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
    auditId: randomUUID(),
    plugin: 'catalog',
    eventName: EVENTS[i % EVENTS.length],
    stage: 'completion',
    status: i % 17 ? 'succeeded' : 'failed',
    actor: {
      actorId: `user:default/user-${i % 500}`,
      ip: '10.1.2.3',
      hostname: '10.1.2.3',
      client:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
    },
    meta: { entityRef: `component:default/service-${i % 3000}` },
    request: {
      method: 'GET',
      url: `/api/catalog/entities/by-name/component/default/service-${i % 3000}?token=***`,
      query: { token: '***' },
      params: {
        kind: 'component',
        namespace: 'default',
        name: `service-${i % 3000}`,
      },
    },
    response: { status: 200 },
  };
}

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function insertRate(store: KnexAuditStore, n: number): Promise<number> {
  const sink = StoreSink.create({
    store,
    maxQueue: n + 1,
    batchSize: 500,
    flushIntervalMs: 1,
  });
  const lines = Array.from({ length: 1000 }, (_, i) => {
    const r = record(i);
    return { r, line: JSON.stringify(r) };
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { r, line } = lines[i % lines.length];
    sink.write(
      { ...r, timestamp: new Date(Date.UTC(2026, 0, 1) + i).toISOString() },
      line,
    );
    // Let the writer run while records keep arriving, as in a live backend.
    if (i % 5000 === 0) await new Promise(res => setImmediate(res));
  }
  await sink.close(600_000);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  if (sink.stats().written !== n)
    throw new Error(`wrote ${sink.stats().written} of ${n}`);
  return n / s;
}

async function queryLatency(store: KnexAuditStore) {
  const base = Date.UTC(2026, 0, 1);
  const span = ROWS * 1000;
  const cases: Record<string, () => Parameters<KnexAuditStore['query']>[0]> = {
    'eventName + 1h window, newest first': () => {
      const from = base + Math.floor(Math.random() * (span - 3_600_000));
      return {
        eventNames: [EVENTS[Math.floor(Math.random() * EVENTS.length)]],
        fromMs: from,
        toMs: from + 3_600_000,
        order: 'desc',
        limit: 50,
      };
    },
    'actorId, newest first': () => ({
      actorId: `user:default/user-${Math.floor(Math.random() * 500)}`,
      order: 'desc',
      limit: 50,
    }),
    'eventName + status=failed': () => ({
      eventNames: ['ScaffolderTaskCreation'],
      status: 'failed',
      order: 'desc',
      limit: 50,
    }),
    'unfiltered, newest first': () => ({ order: 'desc', limit: 50 }),
  };
  const out: Record<string, { p50: number; p95: number }> = {};
  for (const [name, make] of Object.entries(cases)) {
    const samples: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const t = process.hrtime.bigint();
      const page = await store.query(make());
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (i === 0 && page.items.length === 0)
        throw new Error(`no rows for ${name}`);
    }
    out[name] = { p50: pct(samples, 50), p95: pct(samples, 95) };
  }
  return out;
}

/** Bulk-loads ROWS compact rows server-side; their shape matches what the writer stores. */
async function bulkLoad(knex: Knex, client: 'pg' | 'sqlite'): Promise<void> {
  const events = EVENTS.map(e => `'${e}'`).join(',');
  if (client === 'pg') {
    await knex.raw(`
      insert into audit_events (id, ts_ms, plugin, event_name, stage, status, actor_id, audit_id, task_id, entity_ref, url, record)
      select md5(g::text)::uuid::text, ${Date.UTC(2026, 0, 1)}::bigint + g * 1000, 'catalog',
             (array[${events}])[1 + g % ${EVENTS.length}], 'completion',
             case when g % 17 = 0 then 'failed' else 'succeeded' end,
             'user:default/user-' || (g % 500), md5((g+1)::text), null,
             'component:default/service-' || (g % 3000), '/api/catalog/entities/x' || g,
             '{"isAuditLog":true,"n":' || g || '}'
      from generate_series(1, ${ROWS}) g`);
    await knex.raw('analyze audit_events');
  } else {
    const ev = `case (g % ${EVENTS.length}) ${EVENTS.map((e, i) => `when ${i} then '${e}'`).join(' ')} end`;
    await knex.raw(`
      with recursive s(g) as (select 1 union all select g + 1 from s where g < ${ROWS})
      insert into audit_events (id, ts_ms, plugin, event_name, stage, status, actor_id, audit_id, task_id, entity_ref, url, record)
      select printf('%08x-0000-4000-8000-%012x', g, g), ${Date.UTC(2026, 0, 1)} + g * 1000, 'catalog', ${ev}, 'completion',
             case when g % 17 = 0 then 'failed' else 'succeeded' end,
             'user:default/user-' || (g % 500), 'a' || g, null,
             'component:default/service-' || (g % 3000), '/api/catalog/entities/x' || g,
             '{"isAuditLog":true,"n":' || g || '}'
      from s`);
    await knex.raw('analyze');
  }
}

async function runPostgres() {
  const admin = knexFactory({
    client: 'pg',
    connection: {
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'test',
    },
  });
  const name = `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await admin.raw(`create database ${name}`);
  const knex = knexFactory({
    client: 'pg',
    connection: {
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: name,
    },
    pool: { min: 1, max: 4 },
  });
  try {
    const store = await KnexAuditStore.fromClient(knex);
    const rate = await insertRate(store, INSERTS);
    await knex('audit_events').delete();
    const t = Date.now();
    await bulkLoad(knex, 'pg');
    const loadS = (Date.now() - t) / 1000;
    return {
      insertRate: rate,
      bulkLoadSeconds: loadS,
      queries: await queryLatency(store),
    };
  } finally {
    await knex.destroy();
    await admin.raw(`drop database if exists ${name}`);
    await admin.destroy();
  }
}

async function runSqlite() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-'));
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path.join(dir, 'audit.sqlite') },
    useNullAsDefault: true,
  });
  try {
    await knex.raw('pragma journal_mode = wal');
    const store = await KnexAuditStore.fromClient(knex);
    const rate = await insertRate(store, INSERTS);
    await knex('audit_events').delete();
    const t = Date.now();
    await bulkLoad(knex, 'sqlite');
    const loadS = (Date.now() - t) / 1000;
    return {
      insertRate: rate,
      bulkLoadSeconds: loadS,
      queries: await queryLatency(store),
    };
  } finally {
    await knex.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const results = {
    rows: ROWS,
    inserts: INSERTS,
    queriesPerCase: QUERIES,
    postgres: await runPostgres(),
    sqlite: await runSqlite(),
  };
  const targets = {
    'PostgreSQL inserts >= 20k/s': results.postgres.insertRate >= 20000,
    'SQLite inserts >= 10k/s': results.sqlite.insertRate >= 10000,
    'filtered page p95 <= 50 ms (PG)': Object.values(
      results.postgres.queries,
    ).every(q => q.p95 <= 50),
    'filtered page p95 <= 50 ms (SQLite)': Object.values(
      results.sqlite.queries,
    ).every(q => q.p95 <= 50),
  };
  console.log(
    `\nStore benchmark: ${INSERTS} inserts through StoreSink; queries at ${ROWS} rows`,
  );
  for (const db of ['postgres', 'sqlite'] as const) {
    const r = results[db];
    console.log(
      `  ${db.padEnd(9)} insert ${Math.round(r.insertRate).toLocaleString('en-US')} records/s  (bulk load of ${ROWS} rows: ${r.bulkLoadSeconds.toFixed(1)} s)`,
    );
    for (const [name, q] of Object.entries(r.queries)) {
      console.log(
        `    ${name.padEnd(38)} p50 ${q.p50.toFixed(2)} ms  p95 ${q.p95.toFixed(2)} ms`,
      );
    }
  }
  for (const [t, ok] of Object.entries(targets))
    console.log(`  ${ok ? 'MET   ' : 'MISSED'} ${t}`);
  if (jsonOut)
    fs.writeFileSync(jsonOut, JSON.stringify({ ...results, targets }, null, 2));
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
