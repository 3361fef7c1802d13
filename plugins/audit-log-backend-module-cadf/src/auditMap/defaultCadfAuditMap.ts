/**
 * How one audit event reads in CADF: the action taken and the typeURI of the
 * resource it was taken on. An absent `action` is derived from the HTTP
 * method; an absent `targetType` is `service/<plugin>`.
 *
 * @public
 */
export interface CadfEventMapping {
  /** A CADF action, e.g. `read/list`, `update/refresh`. */
  action?: string;
  /** A CADF resource typeURI, e.g. `service/catalog/entity`. */
  targetType?: string;
}

const ENTITY = 'service/catalog/entity';
const LOCATION = 'service/catalog/location';
const TASK = 'service/scaffolder/task';
const STEP = 'service/scaffolder/task/step';
const TEMPLATE = 'service/scaffolder/template';
const AUDIT_EVENTS = 'service/audit-log/event';

/**
 * The built-in audit map: one row per event of the catalog and scaffolder
 * tables, the scaffolder's task lifecycle and the audit log's own events.
 * Overridden per event by `auditLog.formats.cadf.events`, and for HTTP
 * requests by an OpenStack audit map file (see the README).
 *
 * @public
 */
export const defaultCadfAuditMap: Readonly<Record<string, CadfEventMapping>> = {
  // Catalog (catalogAuditRoutes)
  CatalogEntityFetch: { action: 'read/list', targetType: ENTITY },
  QueriedCatalogEntityFetch: { action: 'read/list', targetType: ENTITY },
  CatalogEntityFetchByUid: { action: 'read', targetType: ENTITY },
  CatalogEntityDeletion: { action: 'delete', targetType: ENTITY },
  CatalogEntityFetchByName: { action: 'read', targetType: ENTITY },
  CatalogEntityAncestryFetch: { action: 'read/ancestry', targetType: ENTITY },
  CatalogEntityBatchFetch: { action: 'read/list', targetType: ENTITY },
  CatalogEntityFacetFetch: {
    action: 'read/list',
    targetType: `${ENTITY}/facet`,
  },
  CatalogEntityRefresh: { action: 'update/refresh', targetType: ENTITY },
  CatalogEntityValidate: { action: 'evaluate/validate', targetType: ENTITY },
  CatalogLocationCreation: { action: 'create', targetType: LOCATION },
  CatalogLocationFetch: { action: 'read/list', targetType: LOCATION },
  QueriedCatalogLocationFetch: { action: 'read/list', targetType: LOCATION },
  CatalogLocationFetchById: { action: 'read', targetType: LOCATION },
  CatalogLocationUpdate: { action: 'update', targetType: LOCATION },
  CatalogLocationDeletion: { action: 'delete', targetType: LOCATION },
  CatalogLocationFetchByEntityRef: { action: 'read', targetType: LOCATION },
  CatalogLocationAnalyze: {
    action: 'evaluate/analyze',
    targetType: LOCATION,
  },

  // Scaffolder over HTTP (scaffolderAuditRoutes)
  ScaffolderParameterSchemaFetch: { action: 'read', targetType: TEMPLATE },
  ScaffolderInstalledActionsFetch: {
    action: 'read/list',
    targetType: 'service/scaffolder/action',
  },
  ScaffolderTaskCreation: { action: 'create', targetType: TASK },
  ScaffolderTaskListFetch: { action: 'read/list', targetType: TASK },
  ScaffolderTaskFetch: { action: 'read', targetType: TASK },
  ScaffolderTaskCancellation: { action: 'stop/cancel', targetType: TASK },
  ScaffolderTaskRetry: { action: 'start/retry', targetType: TASK },
  // Following a task's live event stream is watching it, not reading a resource once.
  ScaffolderTaskStream: { action: 'monitor', targetType: `${TASK}/event` },
  ScaffolderTaskEventFetch: {
    action: 'read/list',
    targetType: `${TASK}/event`,
  },
  ScaffolderTaskDryRun: { action: 'start/dry-run', targetType: TEMPLATE },
  ScaffolderAutocomplete: {
    action: 'read/autocomplete',
    targetType: 'service/scaffolder/autocomplete',
  },
  ScaffolderTemplatingExtensionsFetch: {
    action: 'read/list',
    targetType: 'service/scaffolder/templating-extension',
  },

  // Scaffolder task lifecycle (no HTTP request)
  ScaffolderTaskExecution: { action: 'start', targetType: TASK },
  ScaffolderTaskStepExecution: { action: 'start', targetType: STEP },
  // The step was due to start and did not: why is in the meta attachment (skipReason).
  ScaffolderTaskStepSkip: { action: 'start/skip', targetType: STEP },
  ScaffolderTaskStepIteration: { action: 'start/iteration', targetType: STEP },
  ScaffolderStaleTaskCancellation: { action: 'stop/stale', targetType: TASK },

  // The audit log's own events
  AuditLogQuery: { action: 'read/list', targetType: AUDIT_EVENTS },
  AuditLogRecordFetch: { action: 'read', targetType: AUDIT_EVENTS },
  AuditLogStarted: { action: 'start', targetType: 'service/audit-log' },
  AuditLogStopped: { action: 'stop', targetType: 'service/audit-log' },
  // A request with no row in its plugin's table: action from the method, target the plugin.
  HttpRequest: {},
};
