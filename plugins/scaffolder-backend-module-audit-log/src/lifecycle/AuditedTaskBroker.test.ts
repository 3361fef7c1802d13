import type {
  TaskBroker,
  TaskContext,
} from '@backstage/plugin-scaffolder-node';
import type { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import { AuditedTaskBroker } from './AuditedTaskBroker';
import { TaskAuditTrail } from './TaskAuditTrail';
import { recordingAuditLog } from './testUtils';

/** A stand-in for upstream's TaskManager: state behind getters, optional methods. */
class FakeTask {
  readonly taskId = 'task-1';
  readonly spec = {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    steps: [{ id: 'a', name: 'A', action: 'debug:log' }],
    output: {},
    parameters: {},
    templateInfo: { entityRef: 'template:default/t' },
  };
  readonly createdBy = 'user:default/alice';
  readonly secrets = { backstageToken: 'tok' };
  readonly controller = new AbortController();
  logs: unknown[][] = [];
  completions: unknown[][] = [];
  completeError?: Error;
  #done = false;
  get done() {
    return this.#done;
  }
  get cancelSignal() {
    return this.controller.signal;
  }
  async emitLog(...args: unknown[]) {
    this.logs.push(args);
  }
  async complete(...args: unknown[]) {
    if (this.completeError) {
      throw this.completeError;
    }
    this.completions.push(args);
    this.#done = true;
  }
  async getWorkspaceName() {
    return this.taskId;
  }
  async getTaskState() {
    return { state: { from: 'store' } };
  }
  async getInitiatorCredentials() {
    return { $$type: '@backstage/BackstageCredentials', principal: {} };
  }
}

function setup(auditLog: AuditLogService) {
  const task = new FakeTask();
  const inner = {
    claim: jest.fn(async () => task as unknown as TaskContext),
    dispatch: jest.fn(async () => ({ taskId: 'new' })),
    cancel: jest.fn(async () => {}),
    retry: jest.fn(async () => {}),
    recoverTasks: jest.fn(async () => {}),
    vacuumTasks: jest.fn(async () => {}),
    event$: jest.fn(() => 'observable'),
    get: jest.fn(async () => 'task'),
    list: jest.fn(async () => ({ tasks: [] })),
  };
  const reportFailure = jest.fn();
  const broker = new AuditedTaskBroker({
    inner: inner as unknown as TaskBroker,
    createTrail: t =>
      new TaskAuditTrail(
        { auditLog, executedBy: 'plugin:scaffolder', parameterMaxLength: 256 },
        {
          taskId: t.taskId,
          createdBy: t.createdBy,
          parameters: {},
          steps: t.spec.steps,
          secretValues: ['tok'],
          isDryRun: false,
          renderer: () => undefined,
          isCancelled: () => t.cancelSignal.aborted,
        },
      ),
    reportFailure,
  });
  return { task, inner, broker, reportFailure };
}

describe('AuditedTaskBroker', () => {
  it('delegates every broker call unchanged', async () => {
    const { inner, broker } = setup(recordingAuditLog().auditLog);
    const spec = {} as never;
    await expect(broker.dispatch({ spec })).resolves.toEqual({ taskId: 'new' });
    await broker.cancel('t');
    await broker.retry({ taskId: 't' });
    await broker.recoverTasks();
    await broker.vacuumTasks({ timeoutS: 5 });
    expect(broker.event$({ taskId: 't', after: 1 })).toBe('observable');
    await expect(broker.get('t')).resolves.toBe('task');
    await broker.list({ pagination: { limit: 1 } });
    expect(inner.dispatch).toHaveBeenCalledWith({ spec });
    expect(inner.cancel).toHaveBeenCalledWith('t');
    expect(inner.retry).toHaveBeenCalledWith({ taskId: 't' });
    expect(inner.vacuumTasks).toHaveBeenCalledWith({ timeoutS: 5 });
    expect(inner.event$).toHaveBeenCalledWith({ taskId: 't', after: 1 });
    expect(inner.list).toHaveBeenCalledWith({ pagination: { limit: 1 } });
  });

  it('hands out the task with its own getters and methods, observing its log and completion', async () => {
    const { auditLog, records } = recordingAuditLog();
    const { task, broker } = setup(auditLog);
    const claimed = await broker.claim();
    expect(claimed.taskId).toBe('task-1');
    expect(claimed.done).toBe(false);
    await expect(claimed.getTaskState?.()).resolves.toEqual({
      state: { from: 'store' },
    });
    await claimed.emitLog('Beginning step A', {
      stepId: 'a',
      status: 'processing',
    });
    await claimed.complete('completed', { output: {} });
    expect(claimed.done).toBe(true);
    expect(task.logs).toEqual([
      ['Beginning step A', { stepId: 'a', status: 'processing' }],
    ]);
    expect(task.completions).toEqual([['completed', { output: {} }]]);
    expect(records.map(r => `${r.eventName} ${r.stage} ${r.status}`)).toEqual([
      'ScaffolderTaskExecution initiation succeeded',
      'ScaffolderTaskStepExecution initiation succeeded',
      'ScaffolderTaskStepExecution completion failed',
      'ScaffolderTaskExecution completion succeeded',
    ]);
  });

  it('records a cancelled task as cancelled even though upstream completes it as failed', async () => {
    const { auditLog, records } = recordingAuditLog();
    const { task, broker } = setup(auditLog);
    const claimed = await broker.claim();
    task.controller.abort();
    await claimed.complete('failed', {
      error: { name: 'Error', message: 'cancelled' },
    });
    expect(records[1]).toMatchObject({
      status: 'failed',
      meta: { outcome: 'cancelled' },
    });
  });

  it('never throws into the worker when auditing fails, and reports the failure', async () => {
    const auditLog = recordingAuditLog().auditLog;
    jest.spyOn(auditLog, 'emit').mockImplementation(() => {
      throw new Error('audit pipeline down');
    });
    const report = jest.spyOn(auditLog, 'reportFailure');
    const { task, broker } = setup(auditLog);
    const claimed = await broker.claim();
    await expect(
      claimed.emitLog('Beginning step A', {
        stepId: 'a',
        status: 'processing',
      }),
    ).resolves.toBeUndefined();
    await expect(
      claimed.complete('completed', { output: {} }),
    ).resolves.toBeUndefined();
    expect(task.logs).toHaveLength(1);
    expect(task.completions).toHaveLength(1);
    expect(report).toHaveBeenCalledWith(
      'scaffolder task lifecycle',
      expect.any(Error),
    );
  });

  it('returns the task unobserved when its trail cannot be created', async () => {
    const { task, inner, reportFailure } = setup(recordingAuditLog().auditLog);
    const broker = new AuditedTaskBroker({
      inner: inner as unknown as TaskBroker,
      createTrail: () => {
        throw new Error('bad spec');
      },
      reportFailure,
    });
    await expect(broker.claim()).resolves.toBe(task);
    expect(reportFailure).toHaveBeenCalledWith(expect.any(Error));
  });

  it("passes completion errors through, and records the run once when the worker's last attempt fails", async () => {
    const { auditLog, records } = recordingAuditLog();
    const { task, broker } = setup(auditLog);
    const claimed = await broker.claim();
    task.completeError = new Error('Refusing to update status');
    await expect(claimed.complete('completed', { output: {} })).rejects.toThrow(
      'Refusing',
    );
    expect(records.filter(r => r.stage === 'completion')).toHaveLength(0);
    await expect(
      claimed.complete('failed', {
        error: { name: 'ConflictError', message: 'Refusing' },
      }),
    ).rejects.toThrow('Refusing');
    expect(records.filter(r => r.stage === 'completion')).toEqual([
      expect.objectContaining({
        status: 'failed',
        errors: [{ name: 'ConflictError', message: 'Refusing' }],
      }),
    ]);
  });
});
