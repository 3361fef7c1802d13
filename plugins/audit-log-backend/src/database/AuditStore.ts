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
  /** Resolves when the database answers; rejects when it cannot be reached. */
  ping(): Promise<void>;
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

/**
 * Widths of the filter columns (see the migration). Values are cut to them:
 * the full value stays in the record's JSON, and no caller-chosen value
 * (a 300-character task id in a URL) can make an insert fail.
 */
export const COLUMN_WIDTHS = {
  plugin: 64,
  eventName: 128,
  stage: 16,
  status: 16,
  actorId: 255,
  auditId: 128,
  taskId: 64,
  entityRef: 255,
} as const;

/**
 * A value as a filter column holds it: NUL (which PostgreSQL's text types
 * reject) becomes U+FFFD, and the value is cut to `width` characters.
 * Filters on the query API go through the same function, so a long value
 * still finds its records.
 *
 * @public
 */
export function columnValue(value: string, width?: number): string {
  let out = value.indexOf('\0') === -1 ? value : value.replace(/\0/g, '\uFFFD');
  if (width !== undefined && out.length > width) {
    out = out.slice(0, width);
  }
  return out;
}

const optionalColumn = (v: unknown, width?: number): string | null =>
  typeof v === 'string' ? columnValue(v, width) : null;

/** Derives a store row from a record and its serialized line. @public */
export function toStoredRecord(
  id: string,
  record: AuditRecord,
  json: string,
): StoredAuditRecord {
  const meta = record.meta;
  const tsMs = timestampMs(record.timestamp);
  const w = COLUMN_WIDTHS;
  return {
    id,
    tsMs: Number.isFinite(tsMs) ? tsMs : Date.now(),
    plugin: columnValue(String(record.plugin), w.plugin),
    eventName: columnValue(String(record.eventName), w.eventName),
    stage: columnValue(String(record.stage), w.stage),
    status: columnValue(String(record.status), w.status),
    actorId: optionalColumn(record.actor?.actorId, w.actorId),
    auditId: columnValue(String(record.auditId), w.auditId),
    taskId: optionalColumn(meta?.taskId, w.taskId),
    entityRef: optionalColumn(meta?.entityRef, w.entityRef),
    url: optionalColumn(record.request?.url),
    json: columnValue(json),
  };
}
