import type { Response } from 'express';

/** What the hooks tell the exchange recording a response. */
export interface HookedExchange {
  /** `res.json(body)` bodies are kept (by reference) for this response. */
  readonly keepJsonBody: boolean;
  /** A `res.json()` body, by reference. */
  responseBody: unknown;
  /**
   * The response is ending normally (`res.end(chunk)`). A promise holds the
   * end back until it settles: blocking and strict sinks have the completion
   * record before the client has the response.
   */
  ending(chunk: unknown): Promise<unknown> | undefined;
  /** The connection closed (after the end, or before it). */
  closed(): void;
  /** The response's own `end` and `json` before the hooks replaced them (non-prototype responses). */
  originalEnd?: (...args: unknown[]) => Response;
  originalJson?: (body?: unknown) => Response;
}

/**
 * The exchange recording each audited response. A WeakMap rather than a
 * property on the response: in a Backstage backend every response arrives
 * with a hidden class of its own, so each property added to it allocates a
 * new hidden class and descriptor array (measured: ~1.2 KB per property and
 * request; see bench/README.md).
 */
const exchanges = new WeakMap<Response, HookedExchange>();

type End = (...args: unknown[]) => Response;
type Json = (body?: unknown) => Response;

/** Whether an exchange already records this response (it is recorded once). */
export function isAudited(res: Response): boolean {
  return exchanges.has(res);
}

/** The exchange recording this response, if any. */
export function exchangeOf(res: Response): HookedExchange | undefined {
  return exchanges.get(res);
}

function onResponseClose(this: Response): void {
  exchanges.get(this)?.closed();
}

/** Calls `end` now, or once the exchange's completion is delivered. */
function endThrough(
  res: Response,
  end: End,
  args: unknown[],
  exchange: HookedExchange | undefined,
): Response {
  const wait = exchange?.ending(args[0]);
  if (!wait) {
    return end.apply(res, args);
  }
  const go = () => {
    end.apply(res, args);
  };
  wait.then(go, go);
  return res;
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
    return endThrough(
      this,
      ownEndBefore ?? (parent.end as End),
      args,
      exchanges.get(this),
    );
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
  return endThrough(this, exchange.originalEnd!, args, exchange);
}

/**
 * Hooks the response for its exchange: keeps a reference to a `res.json()`
 * body when the exchange asks (never a copy), records completion in
 * `res.end()` before the last bytes leave (no client ever sees a response
 * whose record does not exist yet), and on `close` if the response did not
 * end first.
 */
export function hookResponse(res: Response, exchange: HookedExchange): void {
  exchanges.set(res, exchange);
  const viaPrototype = hookAppResponsePrototype(res);
  if (!viaPrototype && exchange.keepJsonBody) {
    exchange.originalJson = res.json as Json;
    res.json = ownJson as Response['json'];
  }
  // Middleware ahead of us may have wrapped this response's end itself
  // (compression, in Backstage's default root router): it writes the body,
  // then calls the end it saw, which may predate the prototype hook. Wrap
  // its wrapper, replacing a property the response already has, so the
  // record is written before any of that.
  if (!viaPrototype || Object.prototype.hasOwnProperty.call(res, 'end')) {
    exchange.originalEnd = res.end as End;
    res.end = ownEnd as Response['end'];
  }
  // 'close' comes once per response; the exchange records once in any case.
  res.on('close', onResponseClose);
}
