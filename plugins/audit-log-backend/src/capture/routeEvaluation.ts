import type {
  AuditRoute,
  AuditRouteContext,
} from '@backstage-audit/plugin-audit-log-node';

/** What a route row adds to a record: its meta, and the values to scrub. */
export interface RouteEvaluation {
  meta?: Record<string, unknown>;
  /** Set when the row's meta extractor threw: the record says so. */
  metaError?: { name: string; message: string };
  /** Values of the row's `secretFields` in the request body. */
  secretValues?: string[];
}

function collectStrings(value: unknown, out: string[], depth = 0): void {
  if (typeof value === 'string') {
    out.push(value);
  } else if (value && typeof value === 'object' && depth < 8) {
    for (const v of Object.values(value)) {
      collectStrings(v, out, depth + 1);
    }
  }
}

/**
 * Evaluates a route row for one stage of a request: the meta it extracts,
 * the dry-run mark, and the secret values of its `secretFields`. A broken
 * extractor never costs the record: it is written without meta, with an
 * `AuditMetaError` saying why.
 */
export function evaluateRoute(
  route: AuditRoute | undefined,
  ctx: AuditRouteContext,
): RouteEvaluation {
  if (!route) {
    return {};
  }
  const out: RouteEvaluation = {};
  try {
    out.meta = route.meta?.(ctx);
    const dry =
      typeof route.dryRun === 'function' ? route.dryRun(ctx) : route.dryRun;
    if (dry) {
      out.meta = { ...out.meta, isDryLog: true };
    }
  } catch (error) {
    out.meta = undefined;
    out.metaError = {
      name: 'AuditMetaError',
      message: String((error as Error)?.message ?? error),
    };
  }
  const body = ctx.body;
  if (body && typeof body === 'object' && route.secretFields) {
    const values: string[] = [];
    for (const field of route.secretFields) {
      collectStrings((body as Record<string, unknown>)[field], values);
    }
    out.secretValues = values;
  }
  return out;
}
