import { randomUUID } from 'node:crypto';
import type { HttpAuthService } from '@backstage/backend-plugin-api';
import type {
  ErrorRequestHandler,
  Request,
  RequestHandler,
  Response,
} from 'express';
import {
  AuditLogService,
  AuditRouteMatcher,
  AuditRouteTable,
} from '@backstage-audit/plugin-audit-log-node';
import type { AuditLogConfig } from '../config';
import { AuditActorResolver } from './AuditActorResolver';
import { resolveActorId } from './actor';
import { AuditRequestRegistry } from './AuditRequestRegistry';
import { HttpAuditExchange, UNMAPPED_EVENT } from './HttpAuditExchange';
import { compilePathPrefixes } from './requestFilter';
import { exchangeOf, hookResponse, isAudited } from './responseHooks';

/** @public */
export interface AuditCaptureOptions {
  pluginId: string;
  auditLog: AuditLogService;
  /** The wrapped plugin's own httpAuth: the actor is who the plugin thinks it is. */
  httpAuth: HttpAuthService;
  config: AuditLogConfig;
  /** The plugin's route table, if it has one: its rows name the events. */
  routes?: AuditRouteTable;
  /** Where in-flight requests are found by `auditLog.requestContext`. */
  requests: AuditRequestRegistry;
  actors: AuditActorResolver;
  /** Whether some sink waits for deliveries, and whether one is strict. */
  waiting: 'none' | 'blocking' | 'strict';
}

/** @public */
export interface AuditCapture {
  /** Goes first in the plugin's router, before rate limiting and the credentials barrier. */
  capture: RequestHandler;
  /** Goes after the plugin's routes, before its error handler: keeps the error for the record. */
  errorCapture: ErrorRequestHandler;
}

/**
 * Response header echoing the audit id (Kubernetes' Audit-ID convention).
 *
 * @public
 */
export const AUDIT_ID_HEADER = 'Audit-ID';
const VALID_AUDIT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The answer to a request whose initiation record a strict sink could not take. */
function refuse(req: Request, res: Response): void {
  res.status(503).json({
    error: {
      name: 'ServiceUnavailableError',
      message:
        'The audit log could not record this request, so it was not run. Try again later.',
    },
    request: { method: req.method, url: req.originalUrl },
    response: { statusCode: 503 },
  });
}

/**
 * Creates the HTTP capture for one plugin. The hot path holds references
 * only: no body is copied or parsed here, the route is matched with a table
 * lookup, and the actor comes from the plugin's own cached credentials. Only
 * with a `strict` sink does a request wait, before its handler runs, for its
 * initiation record to be delivered.
 *
 * @public
 */
export function createAuditCapture(options: AuditCaptureOptions): AuditCapture {
  const { pluginId, auditLog, httpAuth, config, requests, actors } = options;
  const ignoredMethods = new Set(config.ignore.methods);
  const isIgnoredPath = compilePathPrefixes(config.ignore.paths);
  const responseBodyEvents = new Set(config.events.responseBody);
  const matcher = options.routes
    ? AuditRouteMatcher.create(options.routes)
    : undefined;
  const waits = options.waiting !== 'none';
  const completed = () => requests.completed();
  const strict = options.waiting === 'strict';

  const capture: RequestHandler = (req, res, next) => {
    let initiated: Promise<boolean> | undefined;
    try {
      initiated = start(req, res);
    } catch (error) {
      // Auditing must never break the request it observes.
      auditLog.reportFailure('http capture', error);
    }
    if (!strict || !initiated) {
      next();
      return;
    }
    initiated.then(
      ok => (ok ? next() : refuse(req, res)),
      () => refuse(req, res),
    );
  };

  function start(req: Request, res: Response): Promise<boolean> | undefined {
    if (
      isAudited(res) ||
      ignoredMethods.has(req.method) ||
      isIgnoredPath(req.baseUrl + req.path)
    ) {
      return undefined;
    }
    const match = matcher?.match(req.method, req.path);
    const route = match?.route;
    const eventName = route?.eventName ?? UNMAPPED_EVENT;
    if (!auditLog.isEventEnabled(eventName)) {
      return undefined;
    }
    const header = req.headers['audit-id'];
    const auditId =
      typeof header === 'string' && VALID_AUDIT_ID.test(header)
        ? header
        : randomUUID();
    res.setHeader(AUDIT_ID_HEADER, auditId);

    const streamed = route?.streamed === true;
    const exchange = HttpAuditExchange.create({
      auditLog,
      pluginId,
      eventName,
      route,
      params: match?.params ?? {},
      req,
      res,
      auditId,
      origin: actors.origin(req),
      recordResponseBody: !streamed && responseBodyEvents.has(eventName),
      keepJsonBody: !streamed,
      keepRawBody: route?.readsResponseBody === true && !streamed,
      waits,
      onCompleted: completed,
    });
    requests.track(req, exchange);
    hookResponse(res, exchange);
    // resolveActorId never rejects: invalid credentials give null.
    const initiated = exchange.initiate(resolveActorId(httpAuth, req));
    return strict ? initiated : undefined;
  }

  const errorCapture: ErrorRequestHandler = (err, _req, res, next) => {
    const exchange = exchangeOf(res);
    if (exchange instanceof HttpAuditExchange) {
      exchange.error = err;
    }
    next(err);
  };

  return { capture, errorCapture };
}
