import { randomUUID } from 'node:crypto';
import {
  AuditLogService,
  AuditStage,
  AuditStatus,
} from '@backstage-audit/plugin-audit-log-node';
import { ScaffolderLifecycleEvents, SCAFFOLDER_PLUGIN_ID } from './eventNames';
import {
  errorFromStepLog,
  parseTaskLog,
  StepSkipReason,
  TaskLogEvent,
} from './logEvents';
import { EachEntry, StepRenderer } from './StepRenderer';
import { truncateLongStrings } from './truncate';

/** A template step as the task spec holds it (`if` and `each` as written). @public */
export interface AuditedStep {
  id: string;
  name?: string;
  action?: string;
  input?: unknown;
  if?: unknown;
  each?: unknown;
}

/** How a task run or a step ended. @public */
export type TaskRunOutcome = 'completed' | 'failed' | 'cancelled';

/** Shared by every trail of a backend. @public */
export interface TaskAuditTrailOptions {
  auditLog: AuditLogService;
  /** The service that runs tasks, e.g. `plugin:scaffolder`. */
  executedBy: string;
  /** See `auditLog.scaffolder.parameterMaxLength`. */
  parameterMaxLength: number;
}

/** One task run (or dry run) to record. @public */
export interface TaskRun {
  /** Absent for dry runs: they have no task. */
  taskId?: string;
  templateRef?: string;
  /** The user who created the task; also the records' actor. */
  createdBy?: string;
  /** Defaults to `createdBy`. */
  actorId?: string | null;
  parameters: unknown;
  steps: readonly AuditedStep[];
  /** Values scrubbed from every string of every record; never recorded. */
  secretValues: readonly string[];
  isDryRun: boolean;
  /** Renders step inputs with secrets masked; created on first use. */
  renderer: () => StepRenderer | undefined;
  /** The auditId of the HTTP request that created the task, when known. */
  creationAuditId?: () => string | undefined;
  /** Whether the task was cancelled (read when a step fails and when it ends). */
  isCancelled?: () => boolean;
}

interface PendingIteration {
  index: number;
  key?: string;
  value: unknown;
  ran: boolean;
}

interface StepState {
  auditId: string;
  step: AuditedStep;
  open: boolean;
  inputs?: unknown;
  /** The `each` entries when they could be rendered; undefined when unknown. */
  entries?: EachEntry[];
  iterations: number;
  /** Iterations held back until the step ends, when the total is unknown. */
  pending: PendingIteration[];
}

const E = ScaffolderLifecycleEvents;
const INTERRUPTED = {
  name: 'StepInterrupted',
  message: 'The task ended before the step reported its outcome',
};

/**
 * Turns the lifecycle of one task run into audit records: the run itself,
 * each step (initiation and completion share an auditId), skips and `each`
 * iterations. Fed with the runner's task log, line by line, in order.
 *
 * Never throws: an audit failure is reported through
 * `auditLog.reportFailure` and the task goes on.
 *
 * @public
 */
export class TaskAuditTrail {
  readonly #options: TaskAuditTrailOptions;
  readonly #run: TaskRun;
  readonly #auditId = randomUUID();
  readonly #steps = new Map<string, StepState>();
  readonly #stepDefs: Map<string, AuditedStep>;
  #parameters?: unknown;
  #ended = false;

  constructor(options: TaskAuditTrailOptions, run: TaskRun) {
    this.#options = options;
    this.#run = run;
    this.#stepDefs = new Map(run.steps.map(s => [s.id, s]));
  }

  /** A worker picked the task up. */
  started(): void {
    this.#safely(() => this.#taskRecord('initiation', 'succeeded'));
  }

  /** One `emitLog(message, metadata)` call of the runner. */
  log(message: unknown, metadata: unknown): void {
    this.#safely(() => {
      const event = parseTaskLog(message, metadata);
      if (event) {
        this.#onEvent(event);
      }
    });
  }

  /** The run ended; steps still open are closed as interrupted. */
  ended(outcome: TaskRunOutcome, error?: unknown): void {
    this.#safely(() => {
      if (this.#ended) {
        return;
      }
      this.#ended = true;
      const cancelled = outcome === 'cancelled';
      for (const state of this.#steps.values()) {
        if (state.open) {
          this.#closeStep(state, cancelled ? 'cancelled' : 'failed', [
            INTERRUPTED,
          ]);
        }
      }
      const errors: unknown[] = [];
      if (cancelled) {
        errors.push({
          name: 'TaskCancelled',
          message: 'The task was cancelled',
        });
      }
      if (error !== undefined) {
        errors.push(error);
      } else if (outcome === 'failed') {
        errors.push({ name: 'TaskFailed', message: 'The task failed' });
      }
      this.#taskRecord(
        'completion',
        outcome === 'completed' ? 'succeeded' : 'failed',
        { outcome },
        errors,
      );
    });
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      try {
        this.#options.auditLog.reportFailure(
          'scaffolder task lifecycle',
          error,
        );
      } catch {
        // Reporting must not throw into the worker either.
      }
    }
  }

  #onEvent(event: TaskLogEvent): void {
    switch (event.kind) {
      case 'step-start':
        this.#startStep(event.stepId);
        return;
      case 'step-skip':
        this.#skipStep(event.stepId, event.reason);
        return;
      case 'step-completed':
        this.#closeStep(this.#stateFor(event.stepId), 'completed');
        return;
      case 'step-failed': {
        const state = this.#stateFor(event.stepId);
        // Later failures of the same step ("Additional error occurred") add nothing.
        if (state.open) {
          const cancelled = this.#run.isCancelled?.() ?? false;
          this.#closeStep(state, cancelled ? 'cancelled' : 'failed', [
            errorFromStepLog(event.message),
          ]);
        }
        return;
      }
      case 'step-cancelled': {
        const state = this.#stateFor(event.stepId);
        if (state.open) {
          this.#closeStep(state, 'cancelled', [
            { name: 'StepCancelled', message: 'The step was cancelled' },
          ]);
        }
        return;
      }
      case 'iteration':
        this.#iteration(this.#stateFor(event.stepId), event);
        return;
      default:
        return;
    }
  }

  #startStep(stepId: string): void {
    const step = this.#stepDefs.get(stepId) ?? { id: stepId };
    const state: StepState = {
      auditId: randomUUID(),
      step,
      open: true,
      iterations: 0,
      pending: [],
    };
    // Rendering is the costly part: only for records that are written at all.
    if (this.#enabled(E.stepExecution)) {
      const renderer = this.#run.renderer();
      state.inputs = this.#truncate(
        renderer ? renderer.render(step.input ?? {}) : step.input,
      );
    }
    if (step.each !== undefined && this.#enabled(E.stepIteration)) {
      state.entries = this.#run.renderer()?.eachEntries(step.each);
    }
    this.#steps.set(stepId, state);
    this.#stepRecord(state, 'initiation', 'succeeded');
  }

  /**
   * The state of a step; one that reports an outcome without having begun
   * (a recovered run) gets a completion record only.
   */
  #stateFor(stepId: string): StepState {
    let state = this.#steps.get(stepId);
    if (!state) {
      const step = this.#stepDefs.get(stepId) ?? { id: stepId };
      state = {
        auditId: randomUUID(),
        step,
        open: true,
        iterations: 0,
        pending: [],
      };
      state.inputs = this.#truncate(step.input);
      this.#steps.set(stepId, state);
    }
    return state;
  }

  #skipStep(stepId: string, reason: StepSkipReason): void {
    const state = this.#steps.get(stepId);
    if (state?.open) {
      // upstream begins a step before evaluating its `if`: close that execution.
      this.#closeStep(state, 'skipped', undefined, { skipReason: reason });
    }
    const step = state?.step ?? this.#stepDefs.get(stepId) ?? { id: stepId };
    this.#emit(E.stepSkip, 'completion', 'succeeded', randomUUID(), {
      ...this.#stepMeta(step),
      stepAuditId: state?.auditId,
      skipReason: reason,
    });
  }

  #closeStep(
    state: StepState,
    outcome: TaskRunOutcome | 'skipped',
    errors?: unknown[],
    extra?: Record<string, unknown>,
  ): void {
    if (!state.open) {
      return;
    }
    state.open = false;
    this.#flushIterations(state);
    const status: AuditStatus =
      outcome === 'completed' || outcome === 'skipped' ? 'succeeded' : 'failed';
    this.#stepRecord(
      state,
      'completion',
      status,
      { outcome, ...extra },
      errors,
    );
  }

  #iteration(
    state: StepState,
    event: Extract<TaskLogEvent, { kind: 'iteration' }>,
  ): void {
    if (!this.#enabled(E.stepIteration)) {
      return;
    }
    const index = state.iterations++;
    const entry = state.entries?.[index];
    if (entry && (event.key === undefined || event.key === entry.key)) {
      this.#iterationRecord(state, index, entry.key, entry.value, event.ran, {
        total: state.entries!.length,
        source: 'rendered',
        inputs: this.#run.renderer()?.render(state.step.input ?? {}, entry),
      });
      return;
    }
    // The rendered entries disagree with the runner: trust the runner from here on.
    state.entries = undefined;
    const pending = {
      index,
      key: event.key,
      value: event.value,
      ran: event.ran,
    };
    if (state.open) {
      state.pending.push(pending);
    } else {
      // A log line that arrived after the step ended.
      this.#iterationRecord(
        state,
        index,
        pending.key,
        pending.value,
        pending.ran,
        {
          total: state.iterations,
          source: 'observed',
        },
      );
    }
  }

  #flushIterations(state: StepState): void {
    for (const p of state.pending) {
      this.#iterationRecord(state, p.index, p.key, p.value, p.ran, {
        total: state.iterations,
        source: 'observed',
      });
    }
    state.pending = [];
  }

  #iterationRecord(
    state: StepState,
    index: number,
    key: string | undefined,
    value: unknown,
    ran: boolean,
    how: { total: number; source: 'rendered' | 'observed'; inputs?: unknown },
  ): void {
    this.#emit(E.stepIteration, 'completion', 'succeeded', randomUUID(), {
      ...this.#stepMeta(state.step),
      stepAuditId: state.auditId,
      iterationIndex: index,
      iterationKey: key,
      iterationValue: this.#truncate(value),
      iterationTotal: how.total,
      // 'observed': counted from the runner's log, short if the step failed midway.
      iterationTotalSource: how.source,
      iterationRan: ran,
      stepInputs:
        how.inputs === undefined ? undefined : this.#truncate(how.inputs),
    });
  }

  #stepMeta(step: AuditedStep): Record<string, unknown> {
    return {
      stepId: step.id,
      stepName: step.name,
      stepAction: step.action,
      stepConditional: step.if,
      stepEach: step.each,
    };
  }

  #stepRecord(
    state: StepState,
    stage: AuditStage,
    status: AuditStatus,
    extra?: Record<string, unknown>,
    errors?: unknown[],
  ): void {
    this.#emit(
      E.stepExecution,
      stage,
      status,
      state.auditId,
      { ...this.#stepMeta(state.step), stepInputs: state.inputs, ...extra },
      errors,
    );
  }

  #taskRecord(
    stage: AuditStage,
    status: AuditStatus,
    extra?: Record<string, unknown>,
    errors?: unknown[],
  ): void {
    this.#parameters ??= this.#truncate(this.#run.parameters);
    this.#emit(
      E.taskExecution,
      stage,
      status,
      this.#auditId,
      { parameters: this.#parameters, ...extra },
      errors,
    );
  }

  #enabled(eventName: string): boolean {
    return this.#options.auditLog.isEventEnabled(eventName);
  }

  #truncate(value: unknown): unknown {
    return truncateLongStrings(value, this.#options.parameterMaxLength);
  }

  #emit(
    eventName: string,
    stage: AuditStage,
    status: AuditStatus,
    auditId: string,
    meta: Record<string, unknown>,
    errors?: unknown[],
  ): void {
    const run = this.#run;
    this.#options.auditLog.emit({
      plugin: SCAFFOLDER_PLUGIN_ID,
      eventName,
      stage,
      status,
      auditId,
      actor: {
        actorId:
          run.actorId !== undefined ? run.actorId : (run.createdBy ?? null),
      },
      meta: {
        taskId: run.taskId,
        templateRef: run.templateRef,
        createdBy: run.createdBy,
        executedBy: this.#options.executedBy,
        creationAuditId: run.creationAuditId?.(),
        ...meta,
        ...(run.isDryRun ? { isDryLog: true } : {}),
      },
      errors: errors?.length ? errors : undefined,
      secretValues: run.secretValues,
    });
  }
}
