import { AuditLevel } from '../record';

/** HTTP methods a route row may name. @public */
export type AuditHttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a meta extractor sees. Request values are the raw parsed values:
 * extractors return identifiers (refs, ids, counts), never whole payloads,
 * and whatever they return is redacted again before it is written.
 *
 * @public
 */
export interface AuditRouteContext {
  stage: 'initiation' | 'completion';
  /** Route parameters, decoded. */
  params: Record<string, string>;
  query: Record<string, unknown>;
  /** Parsed request body; undefined at initiation (not read yet). */
  body: unknown;
  /** Present at completion. `body` only for rows with `readsResponseBody`. */
  response?: { status: number; body?: unknown };
  /** Meta the plugin itself passed to its auditor for this request, merged. */
  upstream: Record<string, unknown>;
}

/**
 * One row of a plugin's audit table: which route is which event, and what
 * meta it carries.
 *
 * @public
 */
export interface AuditRoute {
  method: AuditHttpMethod;
  /** Express-style path relative to the plugin's base URL, e.g. `/entities/by-uid/:uid`. */
  path: string;
  eventName: string;
  /** Meta for this event; called at initiation and at completion. */
  meta?: (ctx: AuditRouteContext) => Record<string, unknown> | undefined;
  /**
   * The handler answers with `res.json()` and `meta` needs that body (e.g. the
   * id of a created task). The body is referenced, not copied or buffered.
   */
  readsResponseBody?: boolean;
  /** The response is streamed (`res.write`, SSE): its body is never captured. */
  streamed?: boolean;
  /** Marks the records of this request with `meta.isDryLog: true`. */
  dryRun?: boolean | ((ctx: AuditRouteContext) => boolean);
  /**
   * Request-body fields holding secrets: their values are redacted and also
   * scrubbed from every other string in the record.
   */
  secretFields?: string[];
  /** Default level for this event (config may override). */
  level?: AuditLevel;
}

/** A plugin's whole audit vocabulary. @public */
export interface AuditRouteTable {
  pluginId: string;
  routes: readonly AuditRoute[];
  /**
   * The plugin's own auditor event ids whose request-less occurrences a
   * richer observer records instead (e.g. the scaffolder's `task` execution
   * events, superseded by its task-lifecycle records): the auditor
   * replacement drops them, so nothing is written twice.
   */
  supersededUpstreamEvents?: readonly string[];
}

/**
 * Declares a plugin's route table; validates it once at start-up.
 *
 * @public
 */
export function defineAuditRoutes(
  pluginId: string,
  routes: readonly AuditRoute[],
  options: { supersededUpstreamEvents?: readonly string[] } = {},
): AuditRouteTable {
  const seen = new Set<string>();
  for (const route of routes) {
    if (!route.path.startsWith('/')) {
      throw new Error(
        `Audit route ${route.eventName} of plugin ${pluginId}: path '${route.path}' must start with '/'`,
      );
    }
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) {
      throw new Error(
        `Audit route ${key} of plugin ${pluginId} is listed twice`,
      );
    }
    seen.add(key);
  }
  return { pluginId, routes, ...options };
}
