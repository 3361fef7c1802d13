import type { Request, Response } from 'express';
import type {
  AuditActor,
  AuditEventInput,
  AuditLogService,
  AuditRequestContext,
  AuditRoute,
  AuditRouteContext,
  AuditStage,
  AuditStatus,
} from '@backstage-audit/plugin-audit-log-node';
import { HookedExchange } from './responseHooks';
import { evaluateRoute } from './routeEvaluation';

/** Event name of requests that no route table row describes. */
export const UNMAPPED_EVENT = 'HttpRequest';

/** Status recorded when the client went away before any response was sent. */
export const CLIENT_CLOSED_STATUS = 499;

/** @public */
export interface HttpAuditExchangeOptions {
  auditLog: AuditLogService;
  pluginId: string;
  eventName: string;
  route?: AuditRoute;
  params: Record<string, string>;
  req: Request;
  res: Response;
  auditId: string;
  /** Where the request comes from; the actor id follows once resolved. */
  origin: Omit<AuditActor, 'actorId'>;
  /** Whether the response body goes into the record (`auditLog.events.responseBody`). */
  recordResponseBody: boolean;
  /** Keep `res.json()` bodies by reference (not for streamed routes). */
  keepJsonBody: boolean;
  /** Keep a single-chunk `res.end()` string for meta that reads the response body. */
  keepRawBody: boolean;
  /** Some sink waits for deliveries (`blocking` or `strict`). */
  waits: boolean;
  /** Called once, when the completion record has been handed to the pipeline. */
  onCompleted?: () => void;
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

/**
 * One audited request, as a small state machine: the initiation record once
 * the actor is known, and exactly one completion record, whichever comes
 * first: the handler ends the response (recorded *before* the final bytes go
 * out, and, when a sink waits, delivered before they go), or the connection
 * closes early. Holds references only; the pipeline redacts while it builds
 * each record.
 */
export class HttpAuditExchange implements AuditRequestContext, HookedExchange {
  readonly auditId: string;
  readonly keepJsonBody: boolean;
  /** The error the plugin's handler threw, from the error capture. */
  error: unknown = undefined;
  responseBody: unknown = undefined;
  originalEnd?: (...args: unknown[]) => Response;
  originalJson?: (body?: unknown) => Response;
  /** A single-chunk string passed to `res.end()`, parsed only if meta asks. */
  #rawResponseBody: string | undefined = undefined;
  readonly #o: HttpAuditExchangeOptions;
  #actorId: string | null = null;
  #actorKnown = false;
  /** Made when first asked for (the scaffolder's dry-run replay): most requests never are. */
  #actor?: Promise<AuditActor>;
  #resolveActor?: (actor: AuditActor) => void;
  #upstream: Record<string, unknown> = {};
  #initiated = false;
  #completed = false;
  #pending?: Completion;
  /** Settles the wait of a completion that came before the initiation. */
  #pendingDelivered?: (delivered: boolean) => void;

  static create(options: HttpAuditExchangeOptions): HttpAuditExchange {
    return new HttpAuditExchange(options);
  }

  private constructor(options: HttpAuditExchangeOptions) {
    this.#o = options;
    this.auditId = options.auditId;
    this.keepJsonBody = options.keepJsonBody;
  }

  get actor(): Promise<AuditActor> {
    if (!this.#actor) {
      this.#actor = this.#actorKnown
        ? Promise.resolve({ actorId: this.#actorId, ...this.#o.origin })
        : new Promise(resolve => {
            this.#resolveActor = resolve;
          });
    }
    return this.#actor;
  }

  addUpstreamMeta(meta: Record<string, unknown>): void {
    Object.assign(this.#upstream, meta);
  }

  /** The response body for meta extractors; parses a raw JSON string once, lazily. */
  responseBodyForMeta(): unknown {
    if (
      this.responseBody === undefined &&
      this.#rawResponseBody !== undefined
    ) {
      const raw = this.#rawResponseBody;
      this.#rawResponseBody = undefined;
      try {
        this.responseBody = JSON.parse(raw);
      } catch {
        // not JSON: meta simply lacks what it would have read
      }
    }
    return this.responseBody;
  }

  /**
   * The actor is known: records the initiation. Resolves `true` once it is
   * recorded (and, when a sink waits, delivered), `false` when a waiting sink
   * could not take it.
   */
  async initiate(actorId: Promise<string | null>): Promise<boolean> {
    this.#actorId = await actorId;
    this.#actorKnown = true;
    this.#resolveActor?.({ actorId: this.#actorId, ...this.#o.origin });
    let delivered = true;
    try {
      const event = this.#event('initiation', undefined);
      if (this.#o.waits) {
        delivered = await this.#o.auditLog.emitAndWait(event);
      } else {
        this.#o.auditLog.emit(event);
      }
    } catch (error) {
      this.#o.auditLog.reportFailure('http capture', error);
    }
    this.#initiated = true;
    if (this.#pending) {
      const wait = this.#emitCompletion(this.#pending);
      this.#pending = undefined;
      const settle = this.#pendingDelivered;
      this.#pendingDelivered = undefined;
      if (settle) {
        (wait ?? Promise.resolve(true)).then(settle, () => settle(false));
      }
    }
    return delivered;
  }

  /** From `res.end(chunk)`: the response is ending normally. */
  ending(chunk: unknown): Promise<unknown> | undefined {
    try {
      if (this.#o.keepRawBody && typeof chunk === 'string') {
        this.#rawResponseBody = chunk;
      }
      return this.#finish(false);
    } catch (error) {
      this.#o.auditLog.reportFailure('http capture', error);
      return undefined;
    }
  }

  /** The connection closed: a completion that has not happened yet happens now. */
  closed(): void {
    try {
      this.#finish(!this.#o.res.writableEnded);
    } catch (error) {
      this.#o.auditLog.reportFailure('http capture', error);
    }
  }

  #finish(aborted: boolean): Promise<unknown> | undefined {
    if (this.#completed) {
      return undefined;
    }
    this.#completed = true;
    const res = this.#o.res;
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
      body: this.#o.req.body,
      responseBody: this.#o.recordResponseBody ? this.responseBody : undefined,
    };
    if (this.#initiated) {
      return this.#emitCompletion(completion);
    }
    this.#pending = completion;
    if (!this.#o.waits || aborted) {
      return undefined;
    }
    // Ending before the initiation is recorded: wait for both.
    return new Promise<boolean>(resolve => {
      this.#pendingDelivered = resolve;
    });
  }

  #emitCompletion(completion: Completion): Promise<boolean> | undefined {
    try {
      const event = this.#event('completion', completion);
      if (this.#o.waits) {
        return this.#o.auditLog.emitAndWait(event);
      }
      this.#o.auditLog.emit(event);
      return undefined;
    } finally {
      this.#o.onCompleted?.();
    }
  }

  #event(stage: AuditStage, c: Completion | undefined): AuditEventInput {
    const o = this.#o;
    const req = o.req;
    const body = c && !isEmptyObject(c.body) ? c.body : undefined;
    const ctx: AuditRouteContext = {
      stage,
      params: o.params,
      query: (req.query ?? {}) as Record<string, unknown>,
      body,
      response: c ? new ResponseForMeta(c.status, this) : undefined,
      upstream: this.#upstream,
    };
    const route = evaluateRoute(o.route, ctx);
    let errors = c?.errors;
    if (route.metaError) {
      errors = [...(errors ?? []), route.metaError];
    }
    return {
      plugin: o.pluginId,
      eventName: o.eventName,
      stage,
      status: c ? c.outcome : 'succeeded',
      auditId: o.auditId,
      actor: { actorId: this.#actorId, ...o.origin },
      meta: route.meta,
      request: {
        method: req.method,
        url: req.originalUrl,
        query: req.query,
        params: o.params,
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
      secretValues: route.secretValues,
      level: o.route?.level,
    };
  }
}
