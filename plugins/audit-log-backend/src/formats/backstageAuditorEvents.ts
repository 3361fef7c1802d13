/**
 * Upstream Backstage's auditor severities (`coreServices.auditor`).
 *
 * @public
 */
export type BackstageAuditorSeverity = 'low' | 'medium' | 'high' | 'critical';

/**
 * How one of our event names reads in upstream Backstage's auditor shape.
 *
 * @public
 */
export interface BackstageAuditorEventRow {
  /** The plugin whose event this is. */
  readonly plugin: string;
  /** Upstream's kebab-case `eventId`. */
  readonly eventId: string;
  /** Upstream's `meta.queryType` for this event, when it sets one. */
  readonly queryType?: string;
  /** Upstream's `meta.actionType` for this event, when it sets one. */
  readonly actionType?: string;
  /**
   * Upstream's `severityLevel` for the event. Absent: derived from the
   * request method (`GET`, `HEAD`, `OPTIONS`: low; anything else: medium).
   */
  readonly severityLevel?: BackstageAuditorSeverity;
  /** Severity of a dry run of the event, when upstream lowers it. */
  readonly dryRunSeverityLevel?: BackstageAuditorSeverity;
  /** Upstream sets `meta.isDryRun` on every record of the event, `false` included. */
  readonly alwaysIsDryRun?: boolean;
  /** Upstream puts the (here: redacted) query string object in `meta.query`. */
  readonly queryInMeta?: boolean;
  /** Our meta keys that upstream names differently for the same value: ours -> upstream's. */
  readonly renameMeta?: Readonly<Record<string, string>>;
  /**
   * `upstream`: the real plugin emits this event (id, discriminator and
   * severity are its own). `ours`: upstream has no such event; the id is
   * ours, in upstream's style.
   */
  readonly origin: 'upstream' | 'ours';
}

/**
 * Our event names in upstream Backstage's auditor vocabulary, one row per
 * event name. Upstream's rows are read from every `auditor.createEvent` call
 * of `@backstage/plugin-catalog-backend` 4.0 and
 * `@backstage/plugin-scaffolder-backend` 4.2; rows marked `ours` name events
 * upstream does not have (scaffolder steps, iterations, autocomplete, the
 * audit log's own events).
 *
 * @public
 */
export const backstageAuditorEvents: Readonly<
  Record<string, BackstageAuditorEventRow>
> = {
  // The catalog (createRouter).
  CatalogEntityFetch: {
    plugin: 'catalog',
    eventId: 'entity-fetch',
    queryType: 'all',
    severityLevel: 'low',
    queryInMeta: true,
    origin: 'upstream',
  },
  QueriedCatalogEntityFetch: {
    plugin: 'catalog',
    eventId: 'entity-fetch',
    queryType: 'by-query',
    severityLevel: 'low',
    renameMeta: { totalEntities: 'totalItems' },
    origin: 'upstream',
  },
  CatalogEntityFetchByUid: {
    plugin: 'catalog',
    eventId: 'entity-fetch',
    queryType: 'by-uid',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogEntityDeletion: {
    plugin: 'catalog',
    eventId: 'entity-mutate',
    actionType: 'delete',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  CatalogEntityFetchByName: {
    plugin: 'catalog',
    eventId: 'entity-fetch',
    queryType: 'by-name',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogEntityAncestryFetch: {
    plugin: 'catalog',
    eventId: 'entity-fetch',
    actionType: 'ancestry',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogEntityBatchFetch: {
    plugin: 'catalog',
    eventId: 'entity-fetch',
    queryType: 'by-refs',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogEntityFacetFetch: {
    plugin: 'catalog',
    eventId: 'entity-facets',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogEntityRefresh: {
    plugin: 'catalog',
    eventId: 'entity-mutate',
    // Upstream calls the refresh a queryType, not an actionType.
    queryType: 'refresh',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  CatalogEntityValidate: {
    plugin: 'catalog',
    eventId: 'entity-validate',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogLocationCreation: {
    plugin: 'catalog',
    eventId: 'location-mutate',
    actionType: 'create',
    severityLevel: 'medium',
    dryRunSeverityLevel: 'low',
    alwaysIsDryRun: true,
    origin: 'upstream',
  },
  CatalogLocationFetch: {
    plugin: 'catalog',
    eventId: 'location-fetch',
    queryType: 'all',
    severityLevel: 'low',
    origin: 'upstream',
  },
  QueriedCatalogLocationFetch: {
    plugin: 'catalog',
    eventId: 'location-fetch',
    queryType: 'by-query',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogLocationFetchById: {
    plugin: 'catalog',
    eventId: 'location-fetch',
    queryType: 'by-id',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogLocationUpdate: {
    plugin: 'catalog',
    eventId: 'location-mutate',
    actionType: 'update',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  CatalogLocationDeletion: {
    plugin: 'catalog',
    eventId: 'location-mutate',
    actionType: 'delete',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  CatalogLocationFetchByEntityRef: {
    plugin: 'catalog',
    eventId: 'location-fetch',
    queryType: 'by-entity',
    severityLevel: 'low',
    origin: 'upstream',
  },
  CatalogLocationAnalyze: {
    plugin: 'catalog',
    eventId: 'location-analyze',
    severityLevel: 'low',
    origin: 'upstream',
  },

  // The scaffolder's HTTP routes (router).
  ScaffolderParameterSchemaFetch: {
    plugin: 'scaffolder',
    eventId: 'template-parameter-schema',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderInstalledActionsFetch: {
    plugin: 'scaffolder',
    eventId: 'action-fetch',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderTaskCreation: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'create',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  ScaffolderTaskListFetch: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'list',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderTaskFetch: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'get',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderTaskCancellation: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'cancel',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  ScaffolderTaskRetry: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'retry',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  ScaffolderTaskStream: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'stream',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderTaskEventFetch: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'events',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderTaskDryRun: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'dry-run',
    severityLevel: 'low',
    origin: 'upstream',
  },
  ScaffolderAutocomplete: {
    plugin: 'scaffolder',
    eventId: 'autocomplete-fetch',
    severityLevel: 'low',
    origin: 'ours',
  },
  ScaffolderTemplatingExtensionsFetch: {
    plugin: 'scaffolder',
    eventId: 'templating-extension-fetch',
    severityLevel: 'low',
    origin: 'ours',
  },

  // The scaffolder's task lifecycle (TaskWorker, StorageTaskBroker; steps are ours).
  ScaffolderTaskExecution: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'execution',
    severityLevel: 'medium',
    dryRunSeverityLevel: 'low',
    renameMeta: { parameters: 'taskParameters' },
    origin: 'upstream',
  },
  ScaffolderStaleTaskCancellation: {
    plugin: 'scaffolder',
    eventId: 'task',
    actionType: 'stale-cancel',
    severityLevel: 'medium',
    origin: 'upstream',
  },
  ScaffolderTaskStepExecution: {
    plugin: 'scaffolder',
    eventId: 'task-step',
    actionType: 'execution',
    severityLevel: 'medium',
    dryRunSeverityLevel: 'low',
    origin: 'ours',
  },
  ScaffolderTaskStepSkip: {
    plugin: 'scaffolder',
    eventId: 'task-step',
    actionType: 'skip',
    severityLevel: 'low',
    origin: 'ours',
  },
  ScaffolderTaskStepIteration: {
    plugin: 'scaffolder',
    eventId: 'task-step',
    actionType: 'iteration',
    severityLevel: 'medium',
    dryRunSeverityLevel: 'low',
    origin: 'ours',
  },

  // The audit log's own events. Reading the trail and starting or stopping it
  // are what PCI DSS 10.2.1.3 and 10.2.1.6 ask to see, so none is `low`.
  AuditLogQuery: {
    plugin: 'audit-log',
    eventId: 'audit-event-fetch',
    queryType: 'by-query',
    severityLevel: 'medium',
    origin: 'ours',
  },
  AuditLogRecordFetch: {
    plugin: 'audit-log',
    eventId: 'audit-event-fetch',
    queryType: 'by-id',
    severityLevel: 'medium',
    origin: 'ours',
  },
  AuditLogStarted: {
    plugin: 'audit-log',
    eventId: 'audit-log-lifecycle',
    actionType: 'start',
    severityLevel: 'high',
    origin: 'ours',
  },
  AuditLogStopped: {
    plugin: 'audit-log',
    eventId: 'audit-log-lifecycle',
    actionType: 'stop',
    severityLevel: 'high',
    origin: 'ours',
  },
  // A request to an audited plugin that its table does not name: any plugin.
  HttpRequest: {
    plugin: '*',
    eventId: 'http-request',
    origin: 'ours',
  },
};
