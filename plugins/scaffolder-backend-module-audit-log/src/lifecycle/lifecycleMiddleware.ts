import type { HttpAuthService } from '@backstage/backend-plugin-api';
import type { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import type { RequestHandler, Response } from 'express';
import type { CreationAuditIds } from './CreationAuditIds';
import { replayDryRun } from './dryRunReplay';
import type { TaskAuditTrailOptions } from './TaskAuditTrail';
import type { TaskRunFactory } from './taskRuns';

/** @public */
export interface LifecycleMiddlewareOptions {
  auditLog: AuditLogService;
  httpAuth: HttpAuthService;
  creationAuditIds: CreationAuditIds;
  runs: TaskRunFactory;
  trailOptions: TaskAuditTrailOptions;
}

/** Calls `onBody` with what the handler passes to `res.json`, then sends it. */
function onJson(
  res: Response,
  onBody: (body: unknown) => void,
  report: (e: unknown) => void,
) {
  const json = res.json;
  res.json = function auditedLifecycleJson(this: Response, body?: unknown) {
    try {
      onBody(body);
    } catch (error) {
      report(error);
    }
    return json.call(this, body);
  } as Response['json'];
}

/**
 * The module's own middleware in the scaffolder's router. It runs after the
 * audit capture (so the request's auditId exists) and before the
 * scaffolder's routes; it never changes a request or a response.
 *
 * - `POST /v2/tasks`: runs the request with its auditId in scope, so the task
 *   store links the new task to it before any worker can claim the task; the
 *   201 response links it too, as a fallback.
 * - `POST /v2/dry-run`: replays the finished dry run's records
 *   ({@link replayDryRun}).
 *
 * @public
 */
export function createLifecycleMiddleware(
  options: LifecycleMiddlewareOptions,
): RequestHandler {
  const { auditLog, creationAuditIds } = options;
  const report = (error: unknown) =>
    auditLog.reportFailure('scaffolder task lifecycle', error);

  return (req, res, next) => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    let creationAuditId: string | undefined;
    try {
      const path = req.path.replace(/\/+$/, '');
      const auditId = auditLog.requestContext(req)?.auditId;
      if (path === '/v2/tasks' && auditId) {
        creationAuditId = auditId;
        onJson(
          res,
          body => {
            const taskId = (body as { id?: unknown } | undefined)?.id;
            if (res.statusCode === 201 && typeof taskId === 'string') {
              creationAuditIds.link(taskId, auditId);
            }
          },
          report,
        );
      } else if (path === '/v2/dry-run') {
        onJson(
          res,
          body => {
            replayDryRun(options, {
              auditLog,
              req,
              status: res.statusCode,
              body,
              auditId,
            }).catch(report);
          },
          report,
        );
      }
    } catch (error) {
      report(error);
    }
    if (creationAuditId) {
      creationAuditIds.runWithin(creationAuditId, next);
      return;
    }
    next();
  };
}
