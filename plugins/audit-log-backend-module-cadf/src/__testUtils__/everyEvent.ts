/**
 * A record sequence covering every event of the built-in audit map, shaped
 * as the plugins write them: both records of each HTTP route of the catalog
 * and scaffolder tables (paths from the tables themselves), the scaffolder's
 * task lifecycle, and the audit log's own events, plus the outcomes that
 * matter to CADF (denied, unauthenticated, crashed, client gone).
 */
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { catalogAuditRoutes } from '@backstage-audit/plugin-catalog-backend-module-audit-log';
import {
  scaffolderAuditRoutes,
  ScaffolderLifecycleEvents,
} from '@backstage-audit/plugin-scaffolder-backend-module-audit-log';
import { backgroundRecord, httpPair } from './records';

const PARAMS: Record<string, string> = {
  uid: '5c2f8f1e-3b0a-4d6c-9e7f-1a2b3c4d5e6f',
  kind: 'component',
  namespace: 'default',
  name: 'payments-api',
  id: '9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f',
  taskId: 'b1a2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  provider: 'github',
  resource: 'repositories',
};

let seq = 0;
function auditId(): string {
  seq += 1;
  return `e0e0e0e0-0000-4000-8000-${String(seq).padStart(12, '0')}`;
}

function fill(path: string): { url: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const url = path.replace(/:([A-Za-z]+)/g, (_, p: string) => {
    params[p] = PARAMS[p];
    return PARAMS[p];
  });
  return { url, params };
}

/** Every event, in an order a portal could produce them. */
export function everyEventRecords(): AuditRecord[] {
  const out: AuditRecord[] = [];
  out.push(
    backgroundRecord({
      auditId: auditId(),
      plugin: 'audit-log',
      eventName: 'AuditLogStarted',
      stage: 'completion',
      status: 'succeeded',
      actorId: 'plugin:audit-log',
      meta: { plugins: ['catalog', 'scaffolder'], stdout: true, store: true },
    }),
  );
  for (const table of [catalogAuditRoutes, scaffolderAuditRoutes]) {
    for (const route of table.routes) {
      const { url, params } = fill(route.path);
      const status = route.method === 'POST' ? 201 : 200;
      out.push(
        ...httpPair({
          auditId: auditId(),
          plugin: table.pluginId,
          eventName: route.eventName,
          method: route.method,
          url: `/api/${table.pluginId}${url}`,
          params,
          status,
          meta: params.taskId ? { taskId: params.taskId } : undefined,
        }),
      );
    }
  }
  const task = {
    taskId: PARAMS.taskId,
    templateRef: 'template:default/hello-audit',
    createdBy: 'user:default/alice',
    executedBy: 'plugin:scaffolder',
  };
  const E = ScaffolderLifecycleEvents;
  const run = auditId();
  const step = auditId();
  const lifecycle: Array<
    [string, string, AuditRecord['stage'], AuditRecord['status'], object?]
  > = [
    [E.taskExecution, run, 'initiation', 'succeeded'],
    [E.stepExecution, step, 'initiation', 'succeeded', { stepId: 'greet' }],
    [
      E.stepIteration,
      auditId(),
      'completion',
      'succeeded',
      { stepId: 'greet', iterationIndex: 0 },
    ],
    [
      E.stepExecution,
      step,
      'completion',
      'succeeded',
      { stepId: 'greet', outcome: 'completed' },
    ],
    [
      E.stepSkip,
      auditId(),
      'completion',
      'succeeded',
      { stepId: 'never', skipReason: 'condition-false' },
    ],
    [E.taskExecution, run, 'completion', 'succeeded', { outcome: 'completed' }],
    [
      E.staleTaskCancellation,
      auditId(),
      'completion',
      'succeeded',
      { lastHeartbeatAt: '2026-11-24T02:00:00.000Z' },
    ],
  ];
  for (const [eventName, id, stage, status, meta] of lifecycle) {
    out.push(
      backgroundRecord({
        auditId: id,
        plugin: 'scaffolder',
        eventName,
        stage,
        status,
        actorId: 'user:default/alice',
        meta: { ...task, ...meta },
      }),
    );
  }
  out.push(
    ...httpPair({
      auditId: auditId(),
      plugin: 'audit-log',
      eventName: 'AuditLogQuery',
      method: 'GET',
      url: '/api/audit-log/events?eventName=CatalogEntityDeletion&limit=2',
      status: 200,
    }),
    ...httpPair({
      auditId: auditId(),
      plugin: 'audit-log',
      eventName: 'AuditLogRecordFetch',
      method: 'GET',
      url: `/api/audit-log/events/${PARAMS.id}`,
      status: 200,
    }),
    ...httpPair({
      auditId: auditId(),
      plugin: 'catalog',
      eventName: 'HttpRequest',
      method: 'GET',
      url: '/api/catalog/no-such-route',
      status: 404,
      errors: [{ name: 'NotFoundError', message: 'Not found' }],
    }),
    // Unauthenticated, denied, crashed, and a client that left an event stream.
    ...httpPair({
      auditId: auditId(),
      plugin: 'catalog',
      eventName: 'CatalogEntityFetch',
      method: 'GET',
      url: '/api/catalog/entities',
      status: 401,
      actor: { actorId: null, ip: '203.0.113.7', client: 'curl/8.5.0' },
      errors: [{ name: 'AuthenticationError', message: 'Missing credentials' }],
    }),
    ...httpPair({
      auditId: auditId(),
      plugin: 'catalog',
      eventName: 'CatalogEntityDeletion',
      method: 'DELETE',
      url: `/api/catalog/entities/by-uid/${PARAMS.uid}`,
      params: { uid: PARAMS.uid },
      status: 403,
      errors: [{ name: 'NotAllowedError', message: 'Unauthorized' }],
    }),
    ...httpPair({
      auditId: auditId(),
      plugin: 'catalog',
      eventName: 'CatalogEntityRefresh',
      method: 'POST',
      url: '/api/catalog/refresh',
      status: 500,
      errors: [{ name: 'TypeError', message: 'handler crashed' }],
    }),
    ...httpPair({
      auditId: auditId(),
      plugin: 'scaffolder',
      eventName: 'ScaffolderTaskStream',
      method: 'GET',
      url: `/api/scaffolder/v2/tasks/${PARAMS.taskId}/eventstream`,
      status: 200,
      meta: { taskId: PARAMS.taskId },
      errors: [{ name: 'ClientClosedRequest', message: 'closed' }],
      clientClosed: true,
    }),
  );
  out.push(
    backgroundRecord({
      auditId: auditId(),
      plugin: 'audit-log',
      eventName: 'AuditLogStopped',
      stage: 'completion',
      status: 'succeeded',
      actorId: 'plugin:audit-log',
    }),
  );
  return out;
}
