import { AUDIT_SCHEMA_VERSION } from '@backstage-audit/plugin-audit-log-node';
import { AuditStore, StoredAuditRecord } from './AuditStore';

/** What happened to the rows of a batch that the database refused. */
export interface IsolationHooks {
  /** The row was refused; a minimal form of it (ids, event, outcome, no payload) was stored instead. */
  degraded(row: StoredAuditRecord, error: unknown): void;
  /** Neither the row nor its minimal form could be stored. */
  rejected(row: StoredAuditRecord, error: unknown): void;
}

/** SQLSTATE (PostgreSQL) or SQLite code of a database error, when it has one. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code.slice(0, 40) : 'unknown';
}

/**
 * The row with its JSON replaced by a minimal record saying why: what the
 * filter columns hold, and the database's error code (never its message,
 * which may quote the refused value).
 */
export function minimalRow(
  row: StoredAuditRecord,
  error: unknown,
): StoredAuditRecord {
  const json = JSON.stringify({
    level: 'error',
    message: `${row.eventName} ${row.stage} ${row.status}`,
    isAuditLog: true,
    schemaVersion: AUDIT_SCHEMA_VERSION,
    timestamp: new Date(row.tsMs).toISOString(),
    auditId: row.auditId,
    plugin: row.plugin,
    eventName: row.eventName,
    stage: row.stage,
    status: row.status,
    actor: { actorId: row.actorId },
    errors: [
      {
        name: 'AuditStoreRejected',
        message: `The database refused the full record (code ${errorCode(
          error,
        )}); this minimal form was stored instead. The full record went to the other sinks.`,
      },
    ],
  });
  return { ...row, url: null, taskId: null, entityRef: null, json };
}

/**
 * Inserts a batch. When it fails while the database still answers, some row
 * in it is one the database refuses: the batch is split in halves until each
 * refused row is alone; that row is stored in a minimal form, or else given
 * up on, and the rest of the batch is stored. One bad value can therefore
 * never stall the store. Rejects, so the caller retries the whole batch (rows
 * already stored are ignored by id), only when the database cannot be
 * reached.
 */
export async function insertIsolating(
  store: AuditStore,
  rows: StoredAuditRecord[],
  hooks: IsolationHooks,
): Promise<void> {
  let refusal: unknown;
  try {
    await store.insert(rows);
    return;
  } catch (error) {
    refusal = error;
  }
  // Unreachable: this rejects, and the caller retries the whole batch later.
  await store.ping();
  if (rows.length > 1) {
    const mid = rows.length >> 1;
    await insertIsolating(store, rows.slice(0, mid), hooks);
    await insertIsolating(store, rows.slice(mid), hooks);
    return;
  }
  const row = rows[0];
  try {
    await store.insert([minimalRow(row, refusal)]);
    hooks.degraded(row, refusal);
  } catch (error) {
    await store.ping();
    hooks.rejected(row, error);
  }
}
