import { AuditRoute, AuditRouteTable } from './types';

/** A matched row and its decoded parameters. @public */
export interface AuditRouteMatch {
  route: AuditRoute;
  params: Record<string, string>;
}

interface CompiledRoute {
  route: AuditRoute;
  /** Lower-cased static segment, or null for a parameter. */
  segments: (string | null)[];
  paramNames: (string | null)[];
}

function splitPath(path: string): string[] {
  const parts = path.split('/');
  // '/a/b/' and '/a/b' are the same route, as in express.
  const start = parts[0] === '' ? 1 : 0;
  let end = parts.length;
  if (end > start && parts[end - 1] === '') {
    end--;
  }
  return parts.slice(start, end);
}

/**
 * More static segments first; on a tie, the row whose first differing
 * position is static wins, so the order of the table does not matter.
 */
function bySpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const byCount =
    b.segments.filter(s => s !== null).length -
    a.segments.filter(s => s !== null).length;
  if (byCount !== 0) {
    return byCount;
  }
  for (let i = 0; i < a.segments.length; i++) {
    const aStatic = a.segments[i] !== null;
    if (aStatic !== (b.segments[i] !== null)) {
      return aStatic ? -1 : 1;
    }
  }
  return 0;
}

function decode(segment: string): string {
  if (segment.indexOf('%') === -1) {
    return segment;
  }
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Whether a row's segments (null: a parameter) match the path's parts,
 * compared case-insensitively; `lower` caches the lower-cased parts across
 * the rows tried for one request.
 */
function segmentsMatch(
  segments: (string | null)[],
  parts: string[],
  lower: (string | undefined)[],
): boolean {
  for (let i = 0; i < parts.length; i++) {
    const s = segments[i];
    if (s !== null) {
      lower[i] ??= parts[i].toLowerCase();
      if (s !== lower[i]) {
        return false;
      }
    }
  }
  return true;
}

/**
 * Matches a request against a route table. Rows are bucketed by method and
 * segment count and tried most-specific first (more static segments win),
 * so a lookup is a handful of string comparisons.
 *
 * @public
 */
export class AuditRouteMatcher {
  /** Rows by method, then by segment count. */
  readonly #buckets = new Map<string, Map<number, CompiledRoute[]>>();

  static create(table: AuditRouteTable): AuditRouteMatcher {
    return new AuditRouteMatcher(table);
  }

  private constructor(table: AuditRouteTable) {
    for (const route of table.routes) {
      const parts = splitPath(route.path);
      const compiled: CompiledRoute = {
        route,
        segments: parts.map(p => (p.startsWith(':') ? null : p.toLowerCase())),
        paramNames: parts.map(p => (p.startsWith(':') ? p.slice(1) : null)),
      };
      let byLength = this.#buckets.get(route.method);
      if (!byLength) {
        byLength = new Map();
        this.#buckets.set(route.method, byLength);
      }
      const bucket = byLength.get(parts.length) ?? [];
      bucket.push(compiled);
      byLength.set(parts.length, bucket);
    }
    for (const byLength of this.#buckets.values()) {
      for (const bucket of byLength.values()) {
        bucket.sort(bySpecificity);
      }
    }
  }

  /** @param path - the path relative to the plugin's base URL, without query. */
  match(method: string, path: string): AuditRouteMatch | undefined {
    const byLength = this.#buckets.get(method);
    if (!byLength) {
      return undefined;
    }
    const parts = splitPath(path);
    const bucket = byLength.get(parts.length);
    if (!bucket) {
      return undefined;
    }
    const lower = new Array<string | undefined>(parts.length);
    const candidate = bucket.find(c => segmentsMatch(c.segments, parts, lower));
    if (!candidate) {
      return undefined;
    }
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const name = candidate.paramNames[i];
      if (name !== null) {
        params[name] = decode(parts[i]);
      }
    }
    return { route: candidate.route, params };
  }
}
