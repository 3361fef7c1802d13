/*
 * The keys this module reads. The closed list of `auditLog`'s keys is
 * `@backstage-audit/plugin-audit-log-backend`'s (Backstage merges the schemas
 * of all packages with `allOf`, so a second list here would intersect with it);
 * this module closes its own block.
 */
export interface Config {
  auditLog?: {
    /** Master switch of the audit log: false records nothing, and leaves the scaffolder's task broker alone. Default true. */
    enabled?: boolean;
    /**
     * Scaffolder task-lifecycle records.
     *
     * @propertyNames {"enum": ["taskLifecycle", "parameterMaxLength"]}
     */
    scaffolder?: {
      /**
       * Record task executions, steps, skips, `each` iterations, dry runs and stale-task
       * cancellations. Decorates the scaffolder's task broker; turn off if another module
       * sets the task broker, or to run on a scaffolder-backend version this module does
       * not support (its HTTP records stay on). Default true.
       */
      taskLifecycle?: boolean;
      /**
       * Strings in recorded task parameters, step inputs and iteration values longer than
       * this are cut. -1 disables. Default 256.
       */
      parameterMaxLength?: number;
    };
  };
}
