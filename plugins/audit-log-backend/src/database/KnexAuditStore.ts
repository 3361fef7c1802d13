import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { Knex } from 'knex';
import {
  AuditPage,
  AuditQuery,
  AuditStore,
  columnValue,
  COLUMN_WIDTHS,
  StoredAuditRecord,
} from './AuditStore';

const TABLE = 'audit_events';
/** Rows per INSERT statement on SQLite (see insert()). */
const SQLITE_CHUNK = 50;
const migrationsDir = resolvePackagePath(
  '@backstage-audit/plugin-audit-log-backend',
  'migrations',
);

interface Row {
  id: string;
  ts_ms: number | string;
  plugin: string;
  event_name: string;
  stage: string;
  status: string;
  actor_id: string | null;
  audit_id: string;
  task_id: string | null;
  entity_ref: string | null;
  url: string | null;
  record: string;
}

/** Column order of SQLITE_INSERT, as #insertInProcess binds them. */
const SQLITE_INSERT = `INSERT INTO ${TABLE} (id, ts_ms, plugin, event_name, stage, status, actor_id, audit_id, task_id, entity_ref, url, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;

/** The parts of better-sqlite3 the in-process insert uses. */
interface SqliteStatement {
  run(...params: unknown[]): unknown;
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
}
/** knex's connection pool, which knex's public types do not expose. */
interface KnexClientPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

function toRow(r: StoredAuditRecord): Row {
  return {
    id: r.id,
    ts_ms: r.tsMs,
    plugin: r.plugin,
    event_name: r.eventName,
    stage: r.stage,
    status: r.status,
    actor_id: r.actorId,
    audit_id: r.auditId,
    task_id: r.taskId,
    entity_ref: r.entityRef,
    url: r.url,
    record: r.json,
  };
}

function fromRow(row: Row): StoredAuditRecord {
  return {
    id: row.id,
    // PostgreSQL returns bigint as a string.
    tsMs: Number(row.ts_ms),
    plugin: row.plugin,
    eventName: row.event_name,
    stage: row.stage,
    status: row.status,
    actorId: row.actor_id,
    auditId: row.audit_id,
    taskId: row.task_id,
    entityRef: row.entity_ref,
    url: row.url,
    json: row.record,
  };
}

/**
 * The audit store on knex: SQLite for local use, PostgreSQL in production.
 *
 * @public
 */
export class KnexAuditStore implements AuditStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<KnexAuditStore> {
    const knex = await options.database.getClient();
    if (!options.database.migrations?.skip) {
      await knex.migrate.latest({
        directory: migrationsDir,
        tableName: 'audit_log_knex_migrations',
        loadExtensions: ['.js'],
      });
    }
    return new KnexAuditStore(knex);
  }

  /** For tests and tools that already hold a migrated client. */
  static async fromClient(knex: Knex): Promise<KnexAuditStore> {
    await knex.migrate.latest({
      directory: migrationsDir,
      tableName: 'audit_log_knex_migrations',
      loadExtensions: ['.js'],
    });
    return new KnexAuditStore(knex);
  }

  /** SQLite runs in this process, synchronously: see insert(). */
  readonly #inProcess: boolean;
  /** The insert statement, prepared once per SQLite connection. */
  readonly #statements = new WeakMap<SqliteConnection, SqliteStatement>();

  private constructor(private readonly knex: Knex) {
    this.#inProcess =
      (knex.client as { dialect?: string }).dialect === 'sqlite3';
  }

  async insert(rows: StoredAuditRecord[]): Promise<void> {
    if (rows.length === 0) {
      return;
    }
    // Retried batches may repeat rows that did commit: the primary key makes
    // every record land exactly once.
    if (this.#inProcess) {
      await this.#insertInProcess(rows);
      return;
    }
    await this.knex(TABLE).insert(rows.map(toRow)).onConflict('id').ignore();
  }

  /**
   * SQLite (better-sqlite3) runs every statement synchronously on the event
   * loop. Through knex, each insert compiled its SQL and prepared a new
   * statement (~40% of the store's cost in a busy backend), and one 500-row
   * statement stalled every request for 10-20 ms. Here one statement is
   * prepared per connection and the batch is inserted in one transaction,
   * with a turn of the event loop every SQLITE_CHUNK rows: it commits all at
   * once, as before, and stalls nothing for more than a chunk.
   */
  async #insertInProcess(rows: StoredAuditRecord[]): Promise<void> {
    const client = this.knex.client as unknown as KnexClientPool;
    const db = (await client.acquireConnection()) as SqliteConnection;
    try {
      let statement = this.#statements.get(db);
      if (!statement) {
        statement = db.prepare(SQLITE_INSERT);
        this.#statements.set(db, statement);
      }
      db.exec('BEGIN');
      try {
        for (let i = 0; i < rows.length; i++) {
          if (i > 0 && i % SQLITE_CHUNK === 0) {
            await new Promise(resolve => setImmediate(resolve));
          }
          const r = rows[i];
          statement.run(
            r.id,
            r.tsMs,
            r.plugin,
            r.eventName,
            r.stage,
            r.status,
            r.actorId,
            r.auditId,
            r.taskId,
            r.entityRef,
            r.url,
            r.json,
          );
        }
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) {
          db.exec('ROLLBACK');
        }
        throw error;
      }
    } finally {
      await client.releaseConnection(db);
    }
  }

  async ping(): Promise<void> {
    await this.knex.raw('select 1');
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    const builder = this.knex<Row>(TABLE).select('*');
    // Filter values as the columns hold them (cut, NUL replaced).
    const w = COLUMN_WIDTHS;
    if (q.fromMs !== undefined) builder.where('ts_ms', '>=', q.fromMs);
    if (q.toMs !== undefined) builder.where('ts_ms', '<', q.toMs);
    if (q.eventNames?.length) {
      builder.whereIn(
        'event_name',
        q.eventNames.map(n => columnValue(n, w.eventName)),
      );
    }
    const exact: Array<[keyof AuditQuery, string, number]> = [
      ['actorId', 'actor_id', w.actorId],
      ['status', 'status', w.status],
      ['stage', 'stage', w.stage],
      ['plugin', 'plugin', w.plugin],
      ['auditId', 'audit_id', w.auditId],
      ['taskId', 'task_id', w.taskId],
      ['entityRef', 'entity_ref', w.entityRef],
    ];
    for (const [field, column, width] of exact) {
      const value = q[field];
      if (typeof value === 'string') {
        builder.where(column, columnValue(value, width));
      }
    }
    if (q.urlContains !== undefined) {
      const escaped = columnValue(q.urlContains).replace(
        /[\\%_]/g,
        c => `\\${c}`,
      );
      builder.whereRaw(`url like ? escape '\\'`, [`%${escaped}%`]);
    }
    const cmp = q.order === 'asc' ? '>' : '<';
    if (q.after) {
      const { tsMs, id } = q.after;
      builder.where(clause =>
        clause
          .where('ts_ms', cmp, tsMs)
          .orWhere(w2 => w2.where('ts_ms', tsMs).andWhere('id', cmp, id)),
      );
    }
    const rows = await builder
      .orderBy([
        { column: 'ts_ms', order: q.order },
        { column: 'id', order: q.order },
      ])
      .limit(q.limit + 1);
    const items = rows.slice(0, q.limit).map(fromRow);
    const last = items[items.length - 1];
    return {
      items,
      next:
        rows.length > q.limit && last
          ? { tsMs: last.tsMs, id: last.id }
          : undefined,
    };
  }

  async get(id: string): Promise<StoredAuditRecord | undefined> {
    // Row ids are UUIDs: anything else cannot match (and PostgreSQL would
    // reject a NUL in the comparison).
    if (!/^[0-9a-f-]{36}$/i.test(id)) {
      return undefined;
    }
    const row = await this.knex<Row>(TABLE).where('id', id).first();
    return row ? fromRow(row) : undefined;
  }

  async deleteOlderThan(tsMs: number): Promise<number> {
    let total = 0;
    // In chunks, so retention never holds a long lock on a busy table.
    for (;;) {
      const ids = await this.knex<Row>(TABLE)
        .where('ts_ms', '<', tsMs)
        .select('id')
        .limit(5000);
      if (ids.length === 0) {
        return total;
      }
      total += await this.knex(TABLE)
        .whereIn(
          'id',
          ids.map(r => r.id),
        )
        .delete();
    }
  }
}
