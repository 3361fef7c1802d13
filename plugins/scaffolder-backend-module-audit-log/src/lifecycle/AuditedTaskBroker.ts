import type { JsonObject } from '@backstage/types';
import type {
  TaskBroker,
  TaskBrokerDispatchOptions,
  TaskBrokerDispatchResult,
  TaskCompletionState,
  TaskContext,
} from '@backstage/plugin-scaffolder-node';
import { delegateExcept } from './delegate';
import { TaskAuditTrail, TaskRunOutcome } from './TaskAuditTrail';

/** @public */
export interface AuditedTaskBrokerOptions {
  /** The broker that does the work (upstream's default `StorageTaskBroker`). */
  inner: TaskBroker;
  /** Creates the audit trail of a task a worker just claimed. */
  createTrail(task: TaskContext): TaskAuditTrail;
  /** Reports an audit failure; the task goes on regardless. */
  reportFailure(error: unknown): void;
}

function outcomeOf(
  task: TaskContext,
  result: TaskCompletionState,
): TaskRunOutcome {
  // Upstream completes a cancelled task as 'failed'; only the signal tells.
  if (task.cancelSignal?.aborted) {
    return 'cancelled';
  }
  return result === 'completed' ? 'completed' : 'failed';
}

/**
 * Records a claimed task's lifecycle: its runner's `emitLog` calls become
 * step records, `complete` the execution's completion. Everything else, and
 * every call's result and error, is the task's own.
 */
function auditTaskContext(
  task: TaskContext,
  trail: TaskAuditTrail,
): TaskContext {
  return delegateExcept<TaskContext>(task, {
    emitLog(message: string, logMetadata?: JsonObject): Promise<void> {
      trail.log(message, logMetadata);
      return task.emitLog(message, logMetadata);
    },
    async complete(
      result: TaskCompletionState,
      metadata?: JsonObject,
    ): Promise<void> {
      const outcome = outcomeOf(task, result);
      try {
        await task.complete(result, metadata);
      } catch (error) {
        // The worker follows a failed complete('completed') with complete('failed');
        // record the run once, when that last attempt fails too.
        if (result === 'failed') {
          trail.ended(outcome, metadata?.error ?? error);
        }
        throw error;
      }
      trail.ended(outcome, metadata?.error);
    },
  });
}

/**
 * A task broker that records the lifecycle of every task it hands to a
 * worker, attributed to the task's creator. It delegates every call to the
 * inner broker unchanged; auditing never throws into the worker.
 *
 * @public
 */
export class AuditedTaskBroker implements TaskBroker {
  readonly #inner: TaskBroker;
  readonly #createTrail: AuditedTaskBrokerOptions['createTrail'];
  readonly #reportFailure: AuditedTaskBrokerOptions['reportFailure'];

  constructor(options: AuditedTaskBrokerOptions) {
    this.#inner = options.inner;
    this.#createTrail = options.createTrail;
    this.#reportFailure = options.reportFailure;
  }

  async claim(options?: { signal?: AbortSignal }): Promise<TaskContext> {
    const task = await this.#inner.claim(options);
    let trail: TaskAuditTrail;
    try {
      trail = this.#createTrail(task);
      trail.started();
    } catch (error) {
      this.#reportFailure(error);
      return task;
    }
    return auditTaskContext(task, trail);
  }

  dispatch(
    options: TaskBrokerDispatchOptions,
  ): Promise<TaskBrokerDispatchResult> {
    return this.#inner.dispatch(options);
  }

  cancel(taskId: string): Promise<void> {
    return this.#inner.cancel(taskId);
  }

  retry(options: Parameters<TaskBroker['retry']>[0]): Promise<void> {
    return this.#inner.retry(options);
  }

  recoverTasks(): Promise<void> {
    return this.#inner.recoverTasks();
  }

  vacuumTasks(options: { timeoutS: number }): Promise<void> {
    return this.#inner.vacuumTasks(options);
  }

  event$(
    options: Parameters<TaskBroker['event$']>[0],
  ): ReturnType<TaskBroker['event$']> {
    return this.#inner.event$(options);
  }

  get(taskId: string): ReturnType<TaskBroker['get']> {
    return this.#inner.get(taskId);
  }

  list(
    options?: Parameters<TaskBroker['list']>[0],
  ): ReturnType<TaskBroker['list']> {
    return this.#inner.list(options);
  }
}
