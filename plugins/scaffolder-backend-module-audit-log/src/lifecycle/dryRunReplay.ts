import type { HttpAuthService } from '@backstage/backend-plugin-api';
import type { Request } from 'express';
import type { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import {
  AuditedStep,
  TaskAuditTrail,
  TaskAuditTrailOptions,
} from './TaskAuditTrail';
import type { TaskRunFactory } from './taskRuns';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;

/**
 * The same actor the HTTP records name: the request's own, when the capture
 * records it, else resolved the same way. `userRef` only for users, as
 * upstream's `spec.user.ref`.
 */
async function actorOf(
  auditLog: AuditLogService,
  httpAuth: HttpAuthService,
  req: Request,
): Promise<{ actorId: string | null; userRef?: string }> {
  const actor = await (auditLog.requestContext(req)?.actor ??
    auditLog.resolveActor(req, httpAuth));
  const actorId = actor.actorId;
  return {
    actorId,
    userRef: actorId?.startsWith('user:') ? actorId : undefined,
  };
}

/** `template:namespace/name` of the inline template, as the HTTP record names it. */
function templateRefOf(template: unknown): string | undefined {
  const metadata = obj(obj(template)?.metadata);
  if (typeof metadata?.name !== 'string') {
    return undefined;
  }
  const namespace =
    typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return `template:${namespace}/${metadata.name}`;
}

/** The steps as upstream ran them: from the response, ids and names defaulted. */
function stepsOf(
  responseBody: Obj | undefined,
  requestBody: Obj | undefined,
): AuditedStep[] {
  const raw = Array.isArray(responseBody?.steps)
    ? responseBody!.steps
    : obj(obj(requestBody?.template)?.spec)?.steps;
  if (!Array.isArray(raw)) {
    return [];
  }
  return raw.map((s, index) => {
    const step = obj(s) ?? {};
    const action = typeof step.action === 'string' ? step.action : undefined;
    return {
      ...step,
      id: typeof step.id === 'string' ? step.id : `step-${index + 1}`,
      name: typeof step.name === 'string' ? step.name : action,
      action,
    };
  });
}

/** @public */
export interface DryRunReplayOptions {
  httpAuth: HttpAuthService;
  runs: TaskRunFactory;
  trailOptions: TaskAuditTrailOptions;
}

/**
 * Records a finished dry run (`POST /v2/dry-run`). Dry runs never reach the
 * task broker: upstream runs them in-process and returns their step log in
 * the response, so their records are replayed from that log through the same
 * {@link TaskAuditTrail} as real tasks, marked `isDryLog`. Upstream returns the
 * log only on success; a dry run that failed with an error is recorded as a
 * failed execution without steps. Requests refused before anything ran (401,
 * 403, upstream's `{errors: [...]}` validation answers) get no records here:
 * the HTTP record covers them.
 *
 * @returns a promise that settles once the records are written (or skipped).
 * @public
 */
export async function replayDryRun(
  options: DryRunReplayOptions,
  exchange: {
    auditLog: AuditLogService;
    req: Request;
    status: number;
    body: unknown;
    auditId?: string;
  },
): Promise<void> {
  const { status, auditId } = exchange;
  const responseBody = obj(exchange.body);
  const ok = status < 300;
  if (!ok && (status === 401 || status === 403 || !obj(responseBody?.error))) {
    return;
  }
  const requestBody = obj(exchange.req.body);
  const actor = await actorOf(
    exchange.auditLog,
    options.httpAuth,
    exchange.req,
  );
  const trail = new TaskAuditTrail(
    options.trailOptions,
    options.runs.fromDryRun({
      templateRef: templateRefOf(requestBody?.template),
      userRef: actor.userRef,
      actorId: actor.actorId,
      parameters: requestBody?.values,
      steps: ok ? stepsOf(responseBody, requestBody) : [],
      secrets: obj(requestBody?.secrets),
      creationAuditId: auditId,
    }),
  );
  trail.started();
  if (!ok) {
    const e = obj(responseBody?.error);
    trail.ended('failed', { name: e?.name, message: e?.message });
    return;
  }
  const log = Array.isArray(responseBody?.log) ? responseBody!.log : [];
  for (const entry of log) {
    const line = obj(obj(entry)?.body);
    trail.log(line?.message, line);
  }
  trail.ended('completed');
}
