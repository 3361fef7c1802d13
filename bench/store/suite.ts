/**
 * Store suite of `npm run bench` (child process of run.ts), on PostgreSQL
 * and on a SQLite file database, through our StoreSink and KnexAuditStore.
 * It takes medians, uses the default writer config and ~1.1 KB rows.
 *
 * 1. Sustained insert rate: real records (built by the pipeline) written
 *    into a StoreSink as fast as its bounded queue accepts them, until the
 *    last batch is committed. Default batch size and queue bound.
 * 2. Query latency: a table bulk-loaded with 1M rows (100k in --quick),
 *    then filtered pages through KnexAuditStore.query, p50/p95.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import type { AuditQuery } from '../../plugins/audit-log-backend/src/database/AuditStore';
import { KnexAuditStore } from '../../plugins/audit-log-backend/src/database/KnexAuditStore';
import { storeSinkRunner } from '../lib/pipeline';
import { parseArgs } from '../lib/args';
import { failChild, sendResult } from '../lib/child';
import { ACTORS, buildRecords, EVENTS, RecordAndLine } from '../lib/records';
import { median, percentile } from '../lib/stats';

const args = parseArgs();
const INSERT_RECORDS = args.quick ? 20_000 : 100_000;
const INSERT_RUNS = 3;
const QUERY_ROWS = args.quick ? 100_000 : 1_000_000;
const QUERY_SAMPLES = args.quick ? 30 : 100;
const DAY_MS = 24 * 60 * 60 * 1000;
const SPAN_MS = 30 * DAY_MS;

export interface QueryResult {
  key: string;
  label: string;
  p50Ms: number;
  p95Ms: number;
  samples: number;
  /** Average rows returned (a page is at most 50). */
  avgItems: number;
}

export interface StoreDbResult {
  db: 'postgres' | 'sqlite';
  detail: string;
  insert: {
    records: number;
    batchSize: number;
    maxQueue: number;
    runs: number[];
    recordsPerSec: number;
  };
  query: {
    rows: number;
    loadSeconds: number;
    queries: QueryResult[];
  };
}

export interface StoreResult {
  quick: boolean;
  databases: StoreDbResult[];
}

interface Db {
  name: 'postgres' | 'sqlite';
  detail: string;
  knex: Knex;
  close(): Promise<void>;
}

async function openPostgres(): Promise<Db> {
  const database = `bench_store_${process.pid}_${Date.now().toString(36)}`;
  const admin = knexFactory({
    client: 'pg',
    connection: {
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'test',
    },
  });
  await admin.raw('CREATE DATABASE ??', [database]);
  const knex = knexFactory({
    client: 'pg',
    connection: { host: '127.0.0.1', port: 5432, user: 'postgres', database },
  });
  const version = (await knex.raw('SHOW server_version')).rows[0]
    .server_version;
  return {
    name: 'postgres',
    detail: `PostgreSQL ${version} on 127.0.0.1, throwaway database ${database}`,
    knex,
    async close() {
      await knex.destroy();
      await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [database]);
      await admin.destroy();
    },
  };
}

async function openSqlite(): Promise<Db> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-sqlite-'));
  const filename = path.join(dir, 'audit-log.sqlite');
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
  });
  const version = (await knex.raw('select sqlite_version() as v'))[0].v;
  return {
    name: 'sqlite',
    detail: `SQLite ${version} (better-sqlite3), file database in a temp dir, default journal (as Backstage configures it)`,
    knex,
    async close() {
      await knex.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes every record into a fresh store sink as fast as its queue accepts them. */
async function insertRun(
  db: Db,
  store: KnexAuditStore,
  records: RecordAndLine[],
): Promise<number> {
  await db.knex('audit_events').delete();
  let failure: Error | undefined;
  const { runner: sink, queue: config } = storeSinkRunner({
    store,
    onError: error => (failure = error as Error),
  });
  const start = process.hrtime.bigint();
  let i = 0;
  while (i < records.length) {
    // Stay under the queue bound: a sustained rate, not a burst that drops.
    const room = config.maxRecords - sink.depth - config.batchSize;
    const end = Math.min(records.length, i + Math.max(0, Math.min(room, 1000)));
    for (; i < end; i++) {
      sink.accept(records[i], false);
    }
    await new Promise(resolve => setTimeout(resolve, room > 0 ? 0 : 2));
  }
  await sink.close(Date.now() + 120_000);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stats = sink.stats();
  const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
  if (stats.delivered !== records.length || dropped > 0 || failure) {
    throw new Error(
      `store sink delivered ${stats.delivered} of ${records.length}, dropped ${dropped}: ${failure?.message}`,
    );
  }
  return records.length / seconds;
}

/** A record's JSON for bulk-loaded rows (~1.1 KB, like the real ones). */
function recordTemplate(sample: RecordAndLine): {
  before: string;
  after: string;
} {
  const parsed = JSON.parse(sample.line) as Record<string, unknown>;
  delete parsed.auditId;
  delete parsed.eventName;
  const rest = JSON.stringify(parsed).slice(1);
  return { before: '{"auditId":"', after: `,${rest}` };
}

/** Bulk-loads `rows` rows in one INSERT ... SELECT. */
async function bulkLoad(
  db: Db,
  rows: number,
  template: { after: string },
): Promise<void> {
  const start = Date.now() - SPAN_MS;
  const plugins = EVENTS.map(e => e.plugin);
  const names = EVENTS.map(e => e.eventName);
  if (db.name === 'postgres') {
    await db.knex.raw(
      `INSERT INTO audit_events
         (id, ts_ms, plugin, event_name, stage, status, actor_id, audit_id, task_id, entity_ref, url, record)
       SELECT md5('row' || g)::uuid::text,
              ?::bigint + (g * ?::bigint / ?::bigint),
              (?::text[])[1 + ((g * 7919) % ?)::int],
              (?::text[])[1 + ((g * 7919) % ?)::int],
              CASE WHEN g % 2 = 0 THEN 'initiation' ELSE 'completion' END,
              CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
              'user:default/user-' || ((g * 104729) % ?),
              md5('audit' || (g / 2))::uuid::text,
              CASE WHEN (?::text[])[1 + ((g * 7919) % ?)::int] = 'scaffolder' THEN 'task-' || g END,
              CASE WHEN (?::text[])[1 + ((g * 7919) % ?)::int] = 'catalog'
                   THEN 'component:default/component-' || lpad(((g * 31) % 3000)::text, 5, '0') END,
              '/api/catalog/entities/by-name/component/default/component-' || lpad(((g * 31) % 3000)::text, 5, '0'),
              '{"auditId":"' || md5('audit' || (g / 2))::uuid::text || '","eventName":"' ||
                (?::text[])[1 + ((g * 7919) % ?)::int] || '"' || ?
       FROM generate_series(1::bigint, ?::bigint) AS g`,
      [
        start,
        SPAN_MS,
        rows,
        plugins,
        EVENTS.length,
        names,
        EVENTS.length,
        ACTORS,
        plugins,
        EVENTS.length,
        plugins,
        EVENTS.length,
        names,
        EVENTS.length,
        template.after,
        rows,
      ],
    );
    await db.knex.raw('ANALYZE audit_events');
  } else {
    await db.knex.raw('DROP TABLE IF EXISTS bench_events');
    await db.knex.raw(
      'CREATE TEMP TABLE bench_events (idx integer primary key, plugin text, name text)',
    );
    await db
      .knex('bench_events')
      .insert(
        EVENTS.map((e, idx) => ({ idx, plugin: e.plugin, name: e.eventName })),
      );
    // Numbers are spliced in as integer literals: better-sqlite3 binds JS
    // numbers as REAL, which would turn every derived value into a float.
    const int = (n: number) => {
      if (!Number.isSafeInteger(n)) {
        throw new Error(`not an integer: ${n}`);
      }
      return String(n);
    };
    await db.knex.raw(
      `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${int(rows)})
       INSERT INTO audit_events
         (id, ts_ms, plugin, event_name, stage, status, actor_id, audit_id, task_id, entity_ref, url, record)
       SELECT lower(hex(randomblob(16))),
              ${int(start)} + (i * ${int(SPAN_MS)} / ${int(rows)}),
              e.plugin,
              e.name,
              CASE WHEN i % 2 = 0 THEN 'initiation' ELSE 'completion' END,
              CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END,
              'user:default/user-' || ((i * 104729) % ${int(ACTORS)}),
              lower(hex(randomblob(16))),
              CASE WHEN e.plugin = 'scaffolder' THEN 'task-' || i END,
              CASE WHEN e.plugin = 'catalog'
                   THEN 'component:default/component-' || substr('0000' || ((i * 31) % 3000), -5) END,
              '/api/catalog/entities/by-name/component/default/component-' || substr('0000' || ((i * 31) % 3000), -5),
              '{"auditId":"' || lower(hex(randomblob(16))) || '","eventName":"' || e.name || '"' || ?
       FROM g JOIN bench_events e ON e.idx = (i * 7919) % ${int(EVENTS.length)}`,
      [template.after],
    );
    await db.knex.raw('ANALYZE');
  }
}

/** A small deterministic generator, so every run asks the same questions. */
function prng(seed: number): (n: number) => number {
  let s = seed;
  return n => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
}

async function queryBench(store: KnexAuditStore): Promise<QueryResult[]> {
  const end = Date.now();
  const start = end - SPAN_MS;
  const random = prng(7);
  const event = () => EVENTS[random(EVENTS.length)].eventName;
  const day = () => start + random(29) * DAY_MS;
  const actor = () => `user:default/user-${random(ACTORS)}`;
  /** One event name, one day, newest 50: the first and second page shapes. */
  const eventDayQuery = (): AuditQuery => {
    const from = day();
    return {
      eventNames: [event()],
      fromMs: from,
      toMs: from + DAY_MS,
      order: 'desc',
      limit: 50,
    };
  };
  const shapes: {
    key: string;
    label: string;
    make: () => AuditQuery;
    page2?: boolean;
  }[] = [
    {
      key: 'eventRange',
      label: 'eventName + 1-day range, newest 50',
      make: eventDayQuery,
    },
    {
      key: 'eventRangePage2',
      label: 'same, second page (keyset cursor)',
      page2: true,
      make: eventDayQuery,
    },
    {
      key: 'actor',
      label: 'actorId, newest 50',
      make: () => ({ actorId: actor(), order: 'desc', limit: 50 }),
    },
    {
      key: 'actorRange',
      label: 'actorId + 7-day range, newest 50',
      make: () => {
        const from = day();
        return {
          actorId: actor(),
          fromMs: from,
          toMs: from + 7 * DAY_MS,
          order: 'desc',
          limit: 50,
        };
      },
    },
    {
      key: 'latest',
      label: 'no filter, newest 50',
      make: () => ({ order: 'desc', limit: 50 }),
    },
  ];
  const results: QueryResult[] = [];
  for (const shape of shapes) {
    const times: number[] = [];
    let items = 0;
    for (let i = 0; i < QUERY_SAMPLES + 10; i++) {
      let q = shape.make();
      if (shape.page2) {
        const first = await store.query(q);
        q = { ...q, after: first.next };
      }
      const t = process.hrtime.bigint();
      const page = await store.query(q);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (i >= 10) {
        times.push(ms);
        items += page.items.length;
      }
    }
    results.push({
      key: shape.key,
      label: shape.label,
      p50Ms: percentile(times, 50),
      p95Ms: percentile(times, 95),
      samples: times.length,
      avgItems: items / times.length,
    });
  }
  return results;
}

async function benchDb(
  db: Db,
  records: RecordAndLine[],
): Promise<StoreDbResult> {
  const store = await KnexAuditStore.fromClient(db.knex);
  const { queue: config } = storeSinkRunner({ store });
  const runs: number[] = [];
  for (let r = 0; r < INSERT_RUNS; r++) {
    runs.push(await insertRun(db, store, records));
  }
  await db.knex('audit_events').delete();
  const loadStart = Date.now();
  await bulkLoad(db, QUERY_ROWS, recordTemplate(records[1]));
  const loadSeconds = (Date.now() - loadStart) / 1000;
  const count = Number((await db.knex('audit_events').count({ n: '*' }))[0].n);
  if (count !== QUERY_ROWS) {
    throw new Error(`bulk load left ${count} rows, expected ${QUERY_ROWS}`);
  }
  return {
    db: db.name,
    detail: db.detail,
    insert: {
      records: records.length,
      batchSize: config.batchSize,
      maxQueue: config.maxRecords,
      runs,
      recordsPerSec: median(runs),
    },
    query: { rows: count, loadSeconds, queries: await queryBench(store) },
  };
}

async function main(): Promise<void> {
  const records = await buildRecords(INSERT_RECORDS);
  const databases: StoreDbResult[] = [];
  for (const open of [openPostgres, openSqlite]) {
    const db = await open();
    try {
      databases.push(await benchDb(db, records));
    } finally {
      await db.close();
    }
  }
  const result: StoreResult = { quick: args.quick, databases };
  await sendResult(result);
}

main().catch(failChild);
