import { randomUUID } from 'node:crypto';
import type {
  LoggerService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds, HumanDuration } from '@backstage/types';
import type { SerializedTask } from '@backstage/plugin-scaffolder-node';
import type { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import type { CreationAuditIds } from './CreationAuditIds';
import { ScaffolderLifecycleEvents, SCAFFOLDER_PLUGIN_ID } from './eventNames';
import type { InternalTaskStore } from './internals';

/** Upstream's scheduler task id, kept so operators find the same task. */
export const STALE_TASK_JANITOR_ID = 'close_stale_tasks';

function readDuration(
  config: Config,
  key: string,
  fallback: HumanDuration,
): HumanDuration {
  return config.has(key) ? readDurationFromConfig(config, { key }) : fallback;
}

/** @public */
export interface StaleTaskJanitorOptions {
  config: Config;
  scheduler: SchedulerService;
  store: Pick<InternalTaskStore, 'listStaleTasks' | 'getTask' | 'shutdownTask'>;
  logger: LoggerService;
  auditLog: AuditLogService;
  executedBy: string;
  creationAuditIds: CreationAuditIds;
}

/**
 * Schedules the stale-task janitor. Upstream schedules its own only when no
 * task broker was set, so setting the audited broker switches it off; this
 * one does the same work with the same config keys and defaults
 * (`scaffolder.taskTimeoutJanitorFrequency`, 5 min; `scaffolder.taskTimeout`,
 * 24 h) and records each cancellation, attributed to the task's creator.
 *
 * @public
 */
export async function scheduleStaleTaskJanitor(
  options: StaleTaskJanitorOptions,
): Promise<void> {
  const { config, scheduler } = options;
  const timeoutS =
    durationToMilliseconds(
      readDuration(config, 'scaffolder.taskTimeout', { hours: 24 }),
    ) / 1000;
  await scheduler.scheduleTask({
    id: STALE_TASK_JANITOR_ID,
    frequency: readDuration(config, 'scaffolder.taskTimeoutJanitorFrequency', {
      minutes: 5,
    }),
    timeout: { minutes: 15 },
    fn: () => closeStaleTasks(options, timeoutS),
  });
}

/** One janitor run: fails every task whose heartbeat is older than `timeoutS`. */
export async function closeStaleTasks(
  options: StaleTaskJanitorOptions,
  timeoutS: number,
): Promise<void> {
  const { store, logger, auditLog } = options;
  const { tasks } = await store.listStaleTasks({ timeoutS });
  for (const { taskId } of tasks) {
    let task: SerializedTask | undefined;
    try {
      // Read before the shutdown, which clears the row's secrets.
      task = await store.getTask(taskId);
    } catch (error) {
      auditLog.reportFailure('scaffolder stale-task janitor', error);
    }
    let failure: unknown;
    try {
      // Upstream's own shutdown: failed step events, then the failed completion.
      await store.shutdownTask({ taskId });
      logger.info(`Successfully closed stale task ${taskId}`);
    } catch (error) {
      failure = error;
      logger.warn(`Failed to close stale task ${taskId}: ${error}`);
    }
    try {
      record(options, taskId, timeoutS, task, failure);
    } catch (error) {
      auditLog.reportFailure('scaffolder stale-task janitor', error);
    }
  }
}

function record(
  options: StaleTaskJanitorOptions,
  taskId: string,
  timeoutS: number,
  task: SerializedTask | undefined,
  failure: unknown,
): void {
  const createdBy = task?.createdBy ?? task?.spec?.user?.ref;
  const secretValues = Object.values(task?.secrets ?? {}).filter(
    (v): v is string => typeof v === 'string',
  );
  options.auditLog.emit({
    plugin: SCAFFOLDER_PLUGIN_ID,
    eventName: ScaffolderLifecycleEvents.staleTaskCancellation,
    stage: 'completion',
    status: failure === undefined ? 'succeeded' : 'failed',
    auditId: randomUUID(),
    actor: { actorId: createdBy ?? null },
    meta: {
      taskId,
      templateRef: task?.spec?.templateInfo?.entityRef,
      createdBy,
      executedBy: options.executedBy,
      creationAuditId: options.creationAuditIds.get(taskId),
      lastHeartbeatAt: task?.lastHeartbeatAt,
      taskTimeoutSeconds: timeoutS,
    },
    errors: failure === undefined ? undefined : [failure],
    secretValues,
  });
}
