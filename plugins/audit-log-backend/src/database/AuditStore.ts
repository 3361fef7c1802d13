import { AuditRecord } from '@backstage-audit/plugin-audit-log-node';

/** A record as the store keeps it: the record's JSON plus the filter columns. @public */
export interface StoredAuditRecord {
  /** Row id (UUID) assigned once when the writer accepts the record. */
  id: string;
  tsMs: number;
  plugin: string;
  eventName: string;
  stage: string;
  status: string;
  actorId: string | null;
  auditId: string;
  taskId: string | null;
  entityRef: string | null;
  url: string | null;
  /** The record, serialized exactly as written to stdout. */
  json: string;
}

/** Filters of the query API. All optional; combined with AND. @public */
export interface AuditQuery {
  /** Inclusive lower bound, epoch ms. */
  fromMs?: number;
  /** Exclusive upper bound, epoch ms. */
  toMs?: number;
  eventNames?: string[];
  actorId?: string;
  status?: string;
  stage?: string;
  plugin?: string;
  auditId?: string;
  taskId?: string;
  entityRef?: string;
  /** Case-sensitive substring of the request URL. */
  urlContains?: string;
  order: 'asc' | 'desc';
  limit: number;
  /** Keyset position: rows strictly after it in `order`. */
  after?: { tsMs: number; id: string };
}

/** One page of results. @public */
export interface AuditPage {
  items: StoredAuditRecord[];
  /** Present when more rows may follow. */
  next?: { tsMs: number; id: string };
}

/** Where records are kept. @public */
export interface AuditStore {
  /** Inserts rows; rows whose id already exists are ignored (safe to retry). */
  insert(rows: StoredAuditRecord[]): Promise<void>;
  query(query: AuditQuery): Promise<AuditPage>;
  get(id: string): Promise<StoredAuditRecord | undefined>;
  /** Deletes rows older than `tsMs`; returns how many. */
  deleteOlderThan(tsMs: number): Promise<number>;
}

// Records written in the same millisecond share a timestamp string: parse it once.
let lastTimestamp = '';
let lastTsMs = NaN;

function timestampMs(timestamp: string): number {
  if (timestamp !== lastTimestamp) {
    lastTsMs = Date.parse(timestamp);
    lastTimestamp = timestamp;
  }
  return lastTsMs;
}

/** Derives a store row from a record and its serialized line. @public */
export function toStoredRecord(
  id: string,
  record: AuditRecord,
  json: string,
): StoredAuditRecord {
  const meta = record.meta;
  const taskId = meta?.taskId;
  const entityRef = meta?.entityRef;
  const tsMs = timestampMs(record.timestamp);
  return {
    id,
    tsMs: Number.isFinite(tsMs) ? tsMs : Date.now(),
    plugin: record.plugin,
    eventName: record.eventName,
    stage: record.stage,
    status: record.status,
    actorId: record.actor?.actorId ?? null,
    auditId: record.auditId,
    taskId: typeof taskId === 'string' ? taskId : null,
    entityRef: typeof entityRef === 'string' ? entityRef : null,
    url: record.request?.url ?? null,
    json,
  };
}
