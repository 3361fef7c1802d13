import { randomUUID } from 'node:crypto';
import { HttpAuthService } from '@backstage/backend-plugin-api';
import {
  ErrorRequestHandler,
  Request,
  RequestHandler,
  Response,
} from 'express';
import {
  AuditLogService,
  AuditRouteMatcher,
} from '@backstage-audit/plugin-audit-log-node';
import { AuditLogConfig } from '../config';
import { createClientAddressResolver } from './actor';
import {
  exchangeOf,
  HttpAuditExchange,
  isAudited,
  UNMAPPED_EVENT,
} from './HttpAuditExchange';
import { compilePathPrefixes } from './requestFilter';
import { tokenFingerprint } from './tokenFingerprint';

/** @public */
export interface AuditCaptureOptions {
  pluginId: string;
  auditLog: AuditLogService;
  /** The wrapped plugin's own httpAuth: the actor is who the plugin thinks it is. */
  httpAuth: HttpAuthService;
  config: AuditLogConfig;
}

/** @public */
export interface AuditCapture {
  /** Goes first in the plugin's router, before rate limiting and the credentials barrier. */
  capture: RequestHandler;
  /** Goes after the plugin's routes, before its error handler: keeps the error for the record. */
  errorCapture: ErrorRequestHandler;
}

/** Response header echoing the audit id (Kubernetes' Audit-ID convention). */
export const AUDIT_ID_HEADER = 'Audit-ID';
const VALID_AUDIT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Creates the HTTP capture for one plugin. The hot path holds references
 * only: no body is copied or parsed here, the route is matched with a table
 * lookup, and the actor comes from the plugin's own cached credentials.
 *
 * @public
 */
export function createAuditCapture(options: AuditCaptureOptions): AuditCapture {
  const { pluginId, auditLog, httpAuth, config } = options;
  const ignoredMethods = new Set(config.ignore.methods);
  const isIgnoredPath = compilePathPrefixes(config.ignore.paths);
  const clientAddress = createClientAddressResolver(config.trustProxy);
  const responseBodyEvents = new Set(config.events.responseBody);
  // The plugin registers its route table after this capture is created; once
  // found it never changes (a second registration throws).
  let matcher: AuditRouteMatcher | undefined;

  const capture: RequestHandler = (req, res, next) => {
    try {
      start(req, res);
    } catch (error) {
      // Auditing must never break the request it observes.
      reportFailure(auditLog, error);
    }
    next();
  };

  function start(req: Request, res: Response): void {
    if (
      isAudited(res) ||
      ignoredMethods.has(req.method) ||
      isIgnoredPath(req.baseUrl + req.path)
    ) {
      return;
    }
    matcher ??= auditLog.getRouteMatcher(pluginId);
    const match = matcher?.match(req.method, req.path);
    const route = match?.route;
    const eventName = route?.eventName ?? UNMAPPED_EVENT;
    if (!auditLog.isEventEnabled(eventName)) {
      return;
    }
    const header = req.headers['audit-id'];
    const auditId =
      typeof header === 'string' && VALID_AUDIT_ID.test(header)
        ? header
        : randomUUID();
    res.setHeader(AUDIT_ID_HEADER, auditId);

    const ip = clientAddress(req);
    const exchange = new HttpAuditExchange(
      auditLog,
      pluginId,
      eventName,
      route,
      match?.params ?? {},
      req,
      res,
      auditId,
      {
        ip,
        hostname: ip,
        client: req.headers['user-agent'],
        tokenFingerprint: tokenFingerprint(req),
      },
      !route?.streamed && responseBodyEvents.has(eventName),
    );
    auditLog.requests.set(req, exchange);

    exchange.hookResponse(
      !route?.streamed,
      route?.readsResponseBody === true && !route.streamed,
    );
    exchange.resolveActor(httpAuth);
  }

  const errorCapture: ErrorRequestHandler = (err, _req, res, next) => {
    const exchange = exchangeOf(res);
    if (exchange) {
      exchange.error = err;
    }
    next(err);
  };

  return { capture, errorCapture };
}

function reportFailure(auditLog: AuditLogService, error: unknown): void {
  auditLog.reportFailure('http capture', error);
}
