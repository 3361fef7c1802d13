import type {
  LoggerService,
  SchedulerService,
} from '@backstage/backend-plugin-api';
import type { AuditStore } from './AuditStore';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The scheduler task id of retention, for operators and tests. */
export const RETENTION_TASK_ID = 'audit-log-retention';

/**
 * Deletes records older than `days`, every `frequencyMinutes`. The scheduler
 * runs the task on one replica at a time.
 */
export async function scheduleRetention(options: {
  store: AuditStore;
  scheduler: SchedulerService;
  logger: LoggerService;
  days: number;
  frequencyMinutes: number;
}): Promise<void> {
  const { store, logger, days } = options;
  await options.scheduler.scheduleTask({
    id: RETENTION_TASK_ID,
    frequency: { minutes: options.frequencyMinutes },
    timeout: { minutes: 30 },
    fn: async () => {
      const deleted = await store.deleteOlderThan(Date.now() - days * DAY_MS);
      logger.info(
        `Audit retention: deleted ${deleted} record(s) older than ${days} days`,
      );
    },
  });
}
