import { InputError } from '@backstage/errors';
import { AuditQuery } from '../database/AuditStore';

const SINGLE_FILTERS = {
  actorId: 'actorId',
  status: 'status',
  stage: 'stage',
  plugin: 'plugin',
  auditId: 'auditId',
  taskId: 'taskId',
  entityRef: 'entityRef',
  q: 'urlContains',
} as const;
const KNOWN = new Set([
  'from',
  'to',
  'eventName',
  'order',
  'limit',
  'cursor',
  ...Object.keys(SINGLE_FILTERS),
]);
const ENUMS: Record<string, readonly string[]> = {
  status: ['succeeded', 'failed'],
  stage: ['initiation', 'completion'],
};
export const MAX_LIMIT = 500;

function one(query: Record<string, unknown>, key: string): string | undefined {
  const v = query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    throw new InputError(
      `Query parameter '${key}' must be given once, as a string`,
    );
  }
  return v;
}

function time(query: Record<string, unknown>, key: string): number | undefined {
  const v = one(query, key);
  if (v === undefined) return undefined;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) {
    throw new InputError(
      `Query parameter '${key}' must be an ISO-8601 time (e.g. 2026-11-24T10:00:00Z) or epoch milliseconds, got '${v}'`,
    );
  }
  return ms;
}

/** Opaque cursor: base64url of `<tsMs>.<id>`. */
export function encodeCursor(c: { tsMs: number; id: string }): string {
  return Buffer.from(`${c.tsMs}.${c.id}`).toString('base64url');
}

function decodeCursor(v: string): { tsMs: number; id: string } {
  const raw = Buffer.from(v, 'base64url').toString('utf8');
  const m = /^(\d+)\.([0-9a-f-]{36})$/.exec(raw);
  if (!m) {
    throw new InputError(
      `Query parameter 'cursor' is not a cursor this API returned`,
    );
  }
  return { tsMs: Number(m[1]), id: m[2] };
}

/**
 * Validates the query string of `GET /events`: unknown parameters, bad times,
 * bad enums, limits and cursors all get a 400 naming the parameter.
 */
export function parseEventsQuery(query: Record<string, unknown>): AuditQuery {
  for (const key of Object.keys(query)) {
    if (!KNOWN.has(key)) {
      throw new InputError(
        `Unknown query parameter '${key}'; supported: ${[...KNOWN].join(', ')}`,
      );
    }
  }
  const out: AuditQuery = { order: 'desc', limit: 50 };
  out.fromMs = time(query, 'from');
  out.toMs = time(query, 'to');
  if (
    out.fromMs !== undefined &&
    out.toMs !== undefined &&
    out.fromMs >= out.toMs
  ) {
    throw new InputError(`'from' must be before 'to'`);
  }
  const names = query.eventName;
  if (names !== undefined) {
    const list = (Array.isArray(names) ? names : [names]).flatMap(n =>
      typeof n === 'string' ? n.split(',') : [],
    );
    if (list.length === 0 || list.some(n => n.trim() === '')) {
      throw new InputError(
        `Query parameter 'eventName' must name one or more events`,
      );
    }
    out.eventNames = list.map(n => n.trim());
  }
  for (const [param, field] of Object.entries(SINGLE_FILTERS)) {
    const v = one(query, param);
    if (v === undefined) continue;
    const allowed = ENUMS[param];
    if (allowed && !allowed.includes(v)) {
      throw new InputError(
        `Query parameter '${param}' must be one of ${allowed.join(', ')}, got '${v}'`,
      );
    }
    out[field] = v;
  }
  const order = one(query, 'order');
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc') {
      throw new InputError(
        `Query parameter 'order' must be 'asc' or 'desc', got '${order}'`,
      );
    }
    out.order = order;
  }
  const limit = one(query, 'limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw new InputError(
        `Query parameter 'limit' must be an integer from 1 to ${MAX_LIMIT}, got '${limit}'`,
      );
    }
    out.limit = n;
  }
  const cursor = one(query, 'cursor');
  if (cursor !== undefined) {
    out.after = decodeCursor(cursor);
  }
  return out;
}
