import { defineAuditRoutes } from '@backstage-audit/plugin-audit-log-node';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;

/** `template:namespace/name` of an inline template entity (dry run). */
function templateRefOf(entity: unknown): string | undefined {
  const metadata = obj(obj(entity)?.metadata);
  if (!metadata || typeof metadata.name !== 'string') {
    return undefined;
  }
  const namespace =
    typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return `template:${namespace}/${metadata.name}`;
}

const taskId = ({ params }: { params: Record<string, string> }) => ({
  taskId: params.taskId,
});

/** Every scaffolder request that carries secrets names them here. */
const SECRETS = ['secrets'];

/**
 * The scaffolder's HTTP audit vocabulary, one row per route the real
 * scaffolder serves (`@backstage/plugin-scaffolder-backend` 4.x). Event names
 * follow Red Hat Developer Hub 1.4; rows marked "extra" cover routes its docs
 * omit. `secrets` are redacted and their values scrubbed from the whole record.
 *
 * @public
 */
export const scaffolderAuditRoutes = defineAuditRoutes('scaffolder', [
  {
    method: 'GET',
    path: '/v2/templates/:namespace/:kind/:name/parameter-schema',
    eventName: 'ScaffolderParameterSchemaFetch',
    meta: ({ params }) => ({
      templateRef:
        `${params.kind}:${params.namespace}/${params.name}`.toLowerCase(),
    }),
  },
  {
    method: 'GET',
    path: '/v2/actions',
    eventName: 'ScaffolderInstalledActionsFetch',
  },
  {
    method: 'POST',
    path: '/v2/tasks',
    eventName: 'ScaffolderTaskCreation',
    readsResponseBody: true,
    secretFields: SECRETS,
    meta: ({ body, response }) => ({
      templateRef: obj(body)?.templateRef,
      taskId: obj(response?.body)?.id,
    }),
  },
  {
    method: 'GET',
    path: '/v2/tasks',
    eventName: 'ScaffolderTaskListFetch',
    meta: ({ query }) => ({
      createdBy: query.createdBy,
      taskStatus: query.status,
    }),
  },
  {
    method: 'GET',
    path: '/v2/tasks/:taskId',
    eventName: 'ScaffolderTaskFetch',
    meta: taskId,
  },
  {
    method: 'POST',
    path: '/v2/tasks/:taskId/cancel',
    eventName: 'ScaffolderTaskCancellation',
    meta: taskId,
  },
  {
    method: 'POST',
    path: '/v2/tasks/:taskId/retry',
    eventName: 'ScaffolderTaskRetry', // extra: RHDH shipped it, its docs omit it
    secretFields: SECRETS,
    meta: taskId,
  },
  {
    method: 'GET',
    path: '/v2/tasks/:taskId/eventstream',
    eventName: 'ScaffolderTaskStream',
    streamed: true,
    meta: taskId,
  },
  {
    method: 'GET',
    path: '/v2/tasks/:taskId/events',
    eventName: 'ScaffolderTaskEventFetch',
    meta: taskId,
  },
  {
    method: 'POST',
    path: '/v2/dry-run',
    eventName: 'ScaffolderTaskDryRun',
    dryRun: true,
    secretFields: SECRETS,
    meta: ({ body }) => ({ templateRef: templateRefOf(obj(body)?.template) }),
  },
  {
    method: 'POST',
    path: '/v2/autocomplete/:provider/:resource',
    eventName: 'ScaffolderAutocomplete', // extra
    meta: ({ params }) => ({
      provider: params.provider,
      resource: params.resource,
    }),
  },
  {
    method: 'GET',
    path: '/v2/templating-extensions',
    eventName: 'ScaffolderTemplatingExtensionsFetch', // extra
  },
]);
