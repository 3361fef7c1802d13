/**
 * Event names of the scaffolder's background (task-lifecycle) records. They
 * complement the HTTP events of `scaffolderAuditRoutes`.
 *
 * @public
 */
export const ScaffolderLifecycleEvents = {
  /** A task run: initiation when a worker claims it, completion when it ends. */
  taskExecution: 'ScaffolderTaskExecution',
  /** One step of a task run: initiation when it begins, completion when it ends. */
  stepExecution: 'ScaffolderTaskStepExecution',
  /** A step that did not run (its `if` was false, or another reason in `skipReason`). */
  stepSkip: 'ScaffolderTaskStepSkip',
  /** One iteration of an `each` step. */
  stepIteration: 'ScaffolderTaskStepIteration',
  /** The stale-task janitor failed a task whose worker stopped heartbeating. */
  staleTaskCancellation: 'ScaffolderStaleTaskCancellation',
} as const;

/** The plugin id every lifecycle record carries. */
export const SCAFFOLDER_PLUGIN_ID = 'scaffolder';
