import type {
  AuditorService,
  AuthService,
  DatabaseService,
  HttpAuthService,
  HttpRouterService,
  LoggerService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import type { EventsService } from '@backstage/plugin-events-node';
import type { TaskBroker } from '@backstage/plugin-scaffolder-node';
import type { ScaffolderTaskBrokerExtensionPoint } from '@backstage/plugin-scaffolder-node/alpha';
import type { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import { AuditedTaskBroker } from './AuditedTaskBroker';
import { readScaffolderLifecycleConfig } from './config';
import { CreationAuditIds, withCreationLinks } from './CreationAuditIds';
import { loadScaffolderInternals, ScaffolderInternalsError } from './internals';
import { createLifecycleMiddleware } from './lifecycleMiddleware';
import { scheduleStaleTaskJanitor } from './staleTaskJanitor';
import { TaskAuditTrail, TaskAuditTrailOptions } from './TaskAuditTrail';
import { TaskRunFactory } from './taskRuns';

/** What the scaffolder module hands over. @public */
export interface TaskLifecycleAuditDeps {
  auditLog: AuditLogService;
  config: Config;
  logger: LoggerService;
  database: DatabaseService;
  auth: AuthService;
  auditor: AuditorService;
  scheduler: SchedulerService;
  httpRouter: HttpRouterService;
  httpAuth: HttpAuthService;
  events: EventsService;
  taskBroker: ScaffolderTaskBrokerExtensionPoint;
  /** For tests: where the scaffolder backend is installed. */
  scaffolderPackageDir?: string;
}

/** Upstream's own switch for task recovery (`taskRecoveryHelper`). */
function isTaskRecoveryEnabled(config: Config): boolean {
  return (
    config.getOptionalBoolean('scaffolder.taskRecovery.enabled') ??
    config.getOptionalBoolean('scaffolder.EXPERIMENTAL_recoverTasks') ??
    false
  );
}

/**
 * Installs the scaffolder's task-lifecycle audit: builds upstream's default
 * task broker and store, decorates the broker so that every claimed task's
 * runner is observed, sets it through the broker extension point, schedules
 * the stale-task janitor that setting a broker switches off, and adds the
 * middleware that links tasks to their creation request and records dry runs.
 * Fails start-up with a clear error when the installed scaffolder is not a
 * supported version or its internals differ.
 *
 * @public
 */
export async function installTaskLifecycleAudit(
  deps: TaskLifecycleAuditDeps,
): Promise<void> {
  const { auditLog, config, logger } = deps;
  const settings = readScaffolderLifecycleConfig(config);
  if (!settings.enabled) {
    logger.info('Scaffolder task-lifecycle audit is disabled');
    return;
  }
  const internals = loadScaffolderInternals({
    packageDir: deps.scaffolderPackageDir,
  });
  if (!internals.createDefaultFilters) {
    logger.warn(
      "Scaffolder task-lifecycle audit: upstream's default template filters could not be loaded; " +
        'step inputs using them are recorded as written',
    );
  }

  const creationAuditIds = new CreationAuditIds();
  // The same store upstream would create (it also runs the migrations).
  const store = await internals.DatabaseTaskStore.create({
    database: deps.database,
    events: deps.events,
    recoverTasksEnabled: isTaskRecoveryEnabled(config),
  });
  let inner: TaskBroker;
  try {
    inner = new internals.StorageTaskBroker(
      withCreationLinks(store, creationAuditIds),
      logger,
      config,
      deps.auth,
      // Providers other modules add reach only upstream's own broker.
      {},
      deps.auditor,
    );
  } catch (error) {
    throw new ScaffolderInternalsError(
      `the scaffolder's task broker could not be built (${(error as Error).message}); ` +
        'workspace providers added by other modules (scaffolder.taskRecovery.workspaceProvider) ' +
        'are not visible to it',
      error,
    );
  }

  const executedBy = 'plugin:scaffolder';
  const trailOptions: TaskAuditTrailOptions = {
    auditLog,
    executedBy,
    parameterMaxLength: settings.parameterMaxLength,
  };
  const runs = new TaskRunFactory({
    config,
    creationAuditIds,
    createDefaultFilters: internals.createDefaultFilters,
  });
  const broker = new AuditedTaskBroker({
    inner,
    createTrail: task => new TaskAuditTrail(trailOptions, runs.fromTask(task)),
    reportFailure: error => {
      try {
        auditLog.reportFailure('scaffolder task lifecycle', error);
      } catch {
        // Reporting must not throw into the worker either.
      }
    },
  });
  try {
    deps.taskBroker.setTaskBroker(broker);
  } catch (error) {
    throw new Error(
      `Audit log: the scaffolder task-lifecycle audit needs the scaffolder's task broker slot, ` +
        `but another module already set a task broker (${(error as Error).message}). ` +
        `Set auditLog.scaffolder.taskLifecycle: false to keep only the HTTP audit records.`,
    );
  }

  await scheduleStaleTaskJanitor({
    config,
    scheduler: deps.scheduler,
    store,
    logger,
    auditLog,
    executedBy,
    creationAuditIds,
  });
  deps.httpRouter.use(
    createLifecycleMiddleware({
      auditLog,
      httpAuth: deps.httpAuth,
      creationAuditIds,
      runs,
      trailOptions,
    }),
  );
}
