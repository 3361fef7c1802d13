import { Request, Response } from 'express';
import { HttpAuthService } from '@backstage/backend-plugin-api';
import {
  AuditActor,
  AuditLogService,
  AuditRequestContext,
  AuditRoute,
  AuditRouteContext,
  AuditStatus,
} from '@backstage-audit/plugin-audit-log-node';
import { resolveActorId } from './actor';

/** Event name of requests that no route table row describes. */
export const UNMAPPED_EVENT = 'HttpRequest';

/** Status recorded when the client went away before any response was sent. */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * The exchange recording each audited response. A WeakMap rather than a
 * property on the response: in a Backstage backend every response arrives
 * with a hidden class of its own, so each property added to it allocates a
 * new hidden class and descriptor array (measured: ~1.2 KB per property and
 * request; see bench/README.md).
 */
const exchanges = new WeakMap<Response, HttpAuditExchange>();

/** Whether an exchange already records this response (it is recorded once). */
export function isAudited(res: Response): boolean {
  return exchanges.has(res);
}

/** The exchange recording this response, if any. */
export function exchangeOf(res: Response): HttpAuditExchange | undefined {
  return exchanges.get(res);
}

type End = (...args: unknown[]) => Response;
type Json = (body?: unknown) => Response;

function onResponseClose(this: Response): void {
  exchanges.get(this)?.closed();
}

/**
 * Response prototypes whose `end` and `json` record the exchange of the
 * response they are called on. Express gives each app a response prototype
 * of its own (`app.response`, which owns `app`), shared by all its
 * responses: hooking it once costs each request a WeakMap lookup instead of
 * new properties. Responses of unaudited requests pass straight through. A
 * mounted sub-app's `app.response` inherits from its parent's, so responses
 * a sub-app answers still pass the hooks.
 */
const hookedPrototypes = new WeakSet<object>();

function hookAppResponsePrototype(res: Response): boolean {
  const proto = Object.getPrototypeOf(res) as Record<string, unknown> | null;
  if (!proto || !Object.prototype.hasOwnProperty.call(proto, 'app')) {
    return false;
  }
  if (hookedPrototypes.has(proto)) {
    return true;
  }
  // Whatever the prototype chain holds when called (an agent may patch
  // Node's ServerResponse later), unless this prototype had its own already.
  const parent = Object.getPrototypeOf(proto) as Record<string, unknown>;
  const ownEndBefore = Object.prototype.hasOwnProperty.call(proto, 'end')
    ? (proto.end as End)
    : undefined;
  const ownJsonBefore = Object.prototype.hasOwnProperty.call(proto, 'json')
    ? (proto.json as Json)
    : undefined;
  proto.end = function auditedEnd(this: Response, ...args: unknown[]) {
    exchanges.get(this)?.ending(args[0]);
    return (ownEndBefore ?? (parent.end as End)).apply(this, args);
  };
  proto.json = function auditedJson(this: Response, body?: unknown) {
    const exchange = exchanges.get(this);
    if (exchange?.keepJsonBody) {
      exchange.responseBody = body;
    }
    return (ownJsonBefore ?? (parent.json as Json)).call(this, body);
  };
  hookedPrototypes.add(proto);
  return true;
}

// Responses that are not an express app's (a bare http response, a test
// double) get the same hooks as own properties, shared by all of them.

function ownJson(this: Response, body?: unknown): Response {
  const exchange = exchanges.get(this)!;
  exchange.responseBody = body;
  return exchange.originalJson!.call(this, body);
}

function ownEnd(this: Response, ...args: unknown[]): Response {
  const exchange = exchanges.get(this)!;
  exchange.ending(args[0]);
  return (exchange.originalEnd as End).apply(this, args);
}

/**
 * `ctx.response` of meta extractors, reading the body only when asked. A
 * class rather than an object literal with a getter, which V8 creates in
 * dictionary mode: a hash table per record.
 */
class ResponseForMeta {
  constructor(
    readonly status: number,
    private readonly exchange: HttpAuditExchange,
  ) {}

  get body(): unknown {
    return this.exchange.responseBodyForMeta();
  }
}

interface Completion {
  status: number;
  outcome: AuditStatus;
  clientClosed: boolean;
  errors?: unknown[];
  body: unknown;
  responseBody: unknown;
}

function isEmptyObject(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.keys(v).length === 0
  );
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
 * One audited request: the initiation record when it arrives and exactly one
 * completion record, whichever of these comes first: the handler ends the
 * response (recorded *before* the final bytes go out), or the connection
 * closes early (recorded as failed). Holds references only; the service
 * redacts while it builds each record.
 */
export class HttpAuditExchange implements AuditRequestContext {
  actorId: string | null | undefined = undefined;
  error: unknown = undefined;
  /** A `res.json()` body, by reference. */
  responseBody: unknown = undefined;
  /** A single-chunk string passed to `res.end()`, parsed only if meta asks. */
  rawResponseBody: string | undefined = undefined;
  #upstream: Record<string, unknown> = {};
  #initiated = false;
  #completed = false;
  #pending?: Completion;

  constructor(
    private readonly auditLog: AuditLogService,
    private readonly pluginId: string,
    private readonly eventName: string,
    private readonly route: AuditRoute | undefined,
    private readonly params: Record<string, string>,
    private readonly req: Request,
    private readonly res: Response,
    readonly auditId: string,
    private readonly actor: Omit<AuditActor, 'actorId'>,
    private readonly recordResponseBody: boolean,
  ) {}

  addUpstreamMeta(meta: Record<string, unknown>): void {
    Object.assign(this.#upstream, meta);
  }

  /** The response body for meta extractors; parses a raw JSON string once, lazily. */
  responseBodyForMeta(): unknown {
    if (this.responseBody === undefined && this.rawResponseBody !== undefined) {
      const raw = this.rawResponseBody;
      this.rawResponseBody = undefined;
      try {
        this.responseBody = JSON.parse(raw);
      } catch {
        // not JSON: meta simply lacks what it would have read
      }
    }
    return this.responseBody;
  }

  originalJson?: Response['json'];
  originalEnd?: Response['end'];
  /** Whether `res.json()` bodies are kept (see hookResponse). */
  keepJsonBody = false;
  #keepRawBody = false;

  /**
   * Hooks the response: keeps a reference to a `res.json()` body (never a
   * copy: meta such as a new task's id lives there, and error bodies explain
   * failures), records completion in `res.end()` before the last bytes leave
   * (no client ever sees a response whose record does not exist yet), and on
   * `close` if the response did not end first.
   */
  hookResponse(keepJsonBody: boolean, keepRawBody: boolean): void {
    const res = this.res;
    exchanges.set(res, this);
    this.keepJsonBody = keepJsonBody;
    this.#keepRawBody = keepRawBody;
    const viaPrototype = hookAppResponsePrototype(res);
    if (!viaPrototype && keepJsonBody) {
      this.originalJson = res.json;
      res.json = ownJson;
    }
    // Middleware ahead of us may have wrapped this response's end itself
    // (compression, in Backstage's default root router): it writes the body,
    // then calls the end it saw, which may predate the prototype hook. Wrap
    // its wrapper, replacing a property the response already has, so the
    // record is written before any of that.
    if (!viaPrototype || Object.prototype.hasOwnProperty.call(res, 'end')) {
      this.originalEnd = res.end;
      res.end = ownEnd as Response['end'];
    }
    // 'close' comes once per response; finish() records once in any case.
    res.on('close', onResponseClose);
  }

  /** From `res.end(chunk)`: the response is ending normally. */
  ending(chunk: unknown): void {
    try {
      if (this.#keepRawBody && typeof chunk === 'string') {
        this.rawResponseBody = chunk;
      }
      this.finish(false);
    } catch (error) {
      this.auditLog.reportFailure('http capture', error);
    }
  }

  closed(): void {
    try {
      this.finish(!this.res.writableEnded);
    } catch (error) {
      this.auditLog.reportFailure('http capture', error);
    }
  }

  /** Resolves the actor through the plugin's own httpAuth, then records initiation. */
  async resolveActor(httpAuth: HttpAuthService): Promise<void> {
    // Never rejects: unauthenticated or invalid credentials give null.
    const actorId = await resolveActorId(httpAuth, this.req);
    try {
      this.actorResolved(actorId);
    } catch (error) {
      this.auditLog.reportFailure('http capture', error);
    }
  }

  /** Called once the plugin's httpAuth has resolved who is asking. */
  actorResolved(actorId: string | null): void {
    this.actorId = actorId;
    this.#emit('initiation', undefined);
    this.#initiated = true;
    if (this.#pending) {
      this.#emit('completion', this.#pending);
      this.#pending = undefined;
    }
  }

  /** The response is ending normally (res.end) or the connection closed. */
  finish(aborted: boolean): void {
    if (this.#completed) {
      return;
    }
    this.#completed = true;
    const res = this.res;
    // A client that leaves before any status was sent: 499, failed. One that
    // closes after the status went out (a browser ending an event stream)
    // got what the status says, marked clientClosed.
    const unanswered = aborted && !res.headersSent;
    const status = unanswered ? CLIENT_CLOSED_STATUS : res.statusCode;
    let outcome: AuditStatus =
      status < 400 && !unanswered ? 'succeeded' : 'failed';
    let errors: unknown[] | undefined;
    if (this.error !== undefined) {
      outcome = 'failed';
      errors = [this.error];
    } else if (unanswered) {
      errors = [
        {
          name: 'ClientClosedRequest',
          message: 'The connection closed before a response was sent',
        },
      ];
    } else if (outcome === 'failed') {
      errors = [errorFromBody(this.responseBody, status)];
    }
    const completion: Completion = {
      status,
      outcome,
      clientClosed: aborted && !unanswered,
      errors,
      body: this.req.body,
      responseBody: this.recordResponseBody ? this.responseBody : undefined,
    };
    if (this.#initiated) {
      this.#emit('completion', completion);
    } else {
      this.#pending = completion;
    }
  }

  #emit(stage: 'initiation' | 'completion', c: Completion | undefined): void {
    const route = this.route;
    const req = this.req;
    const body = c && !isEmptyObject(c.body) ? c.body : undefined;
    const ctx: AuditRouteContext = {
      stage,
      params: this.params,
      query: (req.query ?? {}) as Record<string, unknown>,
      body,
      response: c ? new ResponseForMeta(c.status, this) : undefined,
      upstream: this.#upstream,
    };
    let meta: Record<string, unknown> | undefined;
    let metaError: unknown;
    try {
      meta = route?.meta?.(ctx);
      const dry =
        typeof route?.dryRun === 'function' ? route.dryRun(ctx) : route?.dryRun;
      if (dry) {
        meta = { ...meta, isDryLog: true };
      }
    } catch (error) {
      // A broken extractor must not cost the record: write it without meta, say why.
      metaError = error;
    }
    let secretValues: string[] | undefined;
    if (body && route?.secretFields) {
      secretValues = [];
      for (const field of route.secretFields) {
        collectStrings((body as Record<string, unknown>)[field], secretValues);
      }
    }
    let errors = c?.errors;
    if (metaError) {
      errors = [
        ...(errors ?? []),
        {
          name: 'AuditMetaError',
          message: String((metaError as Error).message),
        },
      ];
    }
    this.auditLog.emit({
      plugin: this.pluginId,
      eventName: this.eventName,
      stage,
      status: c ? c.outcome : 'succeeded',
      auditId: this.auditId,
      actor: {
        actorId: this.actorId ?? null,
        ip: this.actor.ip,
        hostname: this.actor.hostname,
        client: this.actor.client,
        tokenFingerprint: this.actor.tokenFingerprint,
      },
      meta,
      request: {
        method: req.method,
        url: req.originalUrl,
        query: req.query,
        params: this.params,
        body,
      },
      response: c
        ? {
            status: c.status,
            body: c.responseBody,
            clientClosed: c.clientClosed,
          }
        : undefined,
      errors: errors?.length ? errors : undefined,
      secretValues,
      level: route?.level,
    });
  }
}

/** Backstage error bodies are `{error: {name, message}}`; anything else gets a generic error. */
function errorFromBody(
  body: unknown,
  status: number,
): { name: string; message: string } {
  const e = (
    body as { error?: { name?: unknown; message?: unknown } } | undefined
  )?.error;
  if (e && typeof e.name === 'string' && typeof e.message === 'string') {
    return { name: e.name, message: e.message };
  }
  return { name: 'HttpError', message: `Request failed with status ${status}` };
}
