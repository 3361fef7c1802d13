import { ConfigReader } from '@backstage/config';
import type { TaskContext } from '@backstage/plugin-scaffolder-node';
import { CreationAuditIds } from './CreationAuditIds';
import { StepRenderer } from './StepRenderer';
import { TaskRunFactory } from './taskRuns';
import { TaskAuditTrail, TaskRun } from './TaskAuditTrail';
import { recordingAuditLog } from './testUtils';

const SECRET = 'hunter2-secret';
const TOKEN = 'backstage-token-abc';

function trail(overrides: Partial<TaskRun> = {}, parameterMaxLength = 256) {
  const audit = recordingAuditLog();
  const run: TaskRun = {
    taskId: 'task-1',
    templateRef: 'template:default/t',
    createdBy: 'user:default/alice',
    parameters: { name: 'World' },
    steps: [
      {
        id: 'a',
        name: 'A',
        action: 'debug:log',
        input: { m: '${{ secrets.key }}' },
      },
      {
        id: 'loop',
        name: 'Loop',
        action: 'debug:log',
        each: '${{ secrets.list }}',
        input: { m: '${{ each.value }}' },
      },
    ],
    secretValues: [SECRET, TOKEN],
    isDryRun: false,
    renderer: () =>
      StepRenderer.create({
        parameters: { name: 'World' },
        taskId: 'task-1',
        user: {},
        secretNames: ['key', 'list', 'backstageToken'],
        environment: { parameters: {}, secretNames: [] },
      }),
    ...overrides,
  };
  return {
    ...audit,
    trail: new TaskAuditTrail(
      {
        auditLog: audit.auditLog,
        executedBy: 'plugin:scaffolder',
        parameterMaxLength,
      },
      run,
    ),
  };
}

describe('TaskAuditTrail', () => {
  it('scrubs secret values from everything the runner reports', () => {
    const { trail: t, records, text } = trail();
    t.started();
    t.log('Beginning step A', { stepId: 'a', status: 'processing' });
    t.log(`Error: could not use ${SECRET}\n    at x (y.js:1:1)`, {
      stepId: 'a',
      status: 'failed',
    });
    t.ended('failed', {
      name: 'Error',
      message: `could not use ${SECRET} with ${TOKEN}`,
    });

    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain(TOKEN);
    expect(records.map(r => [r.eventName, r.stage, r.status])).toEqual([
      ['ScaffolderTaskExecution', 'initiation', 'succeeded'],
      ['ScaffolderTaskStepExecution', 'initiation', 'succeeded'],
      ['ScaffolderTaskStepExecution', 'completion', 'failed'],
      ['ScaffolderTaskExecution', 'completion', 'failed'],
    ]);
    expect(records[1].meta?.stepInputs).toEqual({ m: '***' });
    // Only the error's first line, scrubbed; the stack frames are dropped.
    expect(records[2].errors).toEqual([
      { name: 'Error', message: 'could not use ***' },
    ]);
    expect(records[3].errors).toEqual([
      { name: 'Error', message: 'could not use *** with ***' },
    ]);
  });

  it('counts iterations from the log when `each` comes from secrets, and keeps their redacted values', () => {
    const { trail: t, records, text } = trail();
    t.log('Beginning step Loop', { stepId: 'loop', status: 'processing' });
    t.log(
      '\u001b[32minfo\u001b[39m: Running step each: {"key":"0","value":"***"}',
      { stepId: 'loop' },
    );
    t.log(`info: Skipping step each: {"key":"1","value":"${SECRET}"}`, {
      stepId: 'loop',
    });
    t.log('Finished step Loop', { stepId: 'loop', status: 'completed' });

    expect(text()).not.toContain(SECRET);
    const iterations = records.filter(
      r => r.eventName === 'ScaffolderTaskStepIteration',
    );
    expect(iterations.map(r => r.meta)).toEqual([
      expect.objectContaining({
        iterationIndex: 0,
        iterationKey: '0',
        iterationValue: '***',
        iterationTotal: 2,
        iterationTotalSource: 'observed',
        iterationRan: true,
        stepEach: '${{ secrets.list }}',
      }),
      expect.objectContaining({
        iterationIndex: 1,
        iterationRan: false,
        iterationTotal: 2,
      }),
    ]);
    // The step-level inputs keep `each` references as written.
    expect(records[0].meta?.stepInputs).toEqual({ m: '${{ each.value }}' });
  });

  it('closes steps still open when the task ends, and records a cancellation as failed', () => {
    const { trail: t, records } = trail();
    t.started();
    t.log('Beginning step A', { stepId: 'a', status: 'processing' });
    t.ended('cancelled');
    const [, , step, task] = records;
    expect(step).toMatchObject({
      status: 'failed',
      meta: { stepId: 'a', outcome: 'cancelled' },
    });
    expect(task).toMatchObject({
      status: 'failed',
      meta: { outcome: 'cancelled' },
    });
    t.ended('completed');
    expect(records).toHaveLength(4);
  });

  it('truncates long parameter values at the configured length', () => {
    const { trail: t, records } = trail(
      { parameters: { long: 'x'.repeat(20), list: ['y'.repeat(20)] } },
      8,
    );
    t.started();
    expect(records[0].meta?.parameters).toEqual({
      long: 'xxxxxxxx...<truncated>',
      list: ['yyyyyyyy...<truncated>'],
    });
  });

  it('never copies the task secrets themselves, only their values are used to scrub', () => {
    // The task context as the scaffolder hands it to a worker (a stand-in
    // object: the real scaffolder is exercised in lifecycle.test.ts). Its
    // secrets hold user secrets, the caller's token and the initiator's
    // credentials, and the parameters and step inputs refer to them.
    const INITIATOR = 'initiator-credentials-token-9d2c';
    const task = {
      taskId: 'task-9',
      createdBy: 'user:default/alice',
      secrets: {
        key: SECRET,
        backstageToken: TOKEN,
        __initiatorCredentials: JSON.stringify({
          $$type: '@backstage/BackstageCredentials',
          principal: { type: 'user', userEntityRef: 'user:default/alice' },
          token: INITIATOR,
        }),
      },
      spec: {
        templateInfo: { entityRef: 'template:default/t' },
        user: { ref: 'user:default/alice' },
        parameters: { name: 'World', pasted: `token is ${TOKEN}` },
        steps: [
          {
            id: 'a',
            name: 'A',
            action: 'debug:log',
            input: {
              m: '${{ secrets.key }}',
              t: 'Bearer ${{ secrets.backstageToken }}',
            },
          },
        ],
      },
      cancelSignal: new AbortController().signal,
    } as unknown as TaskContext;
    const audit = recordingAuditLog();
    const runs = new TaskRunFactory({
      config: new ConfigReader({}),
      creationAuditIds: new CreationAuditIds(),
    });
    const t = new TaskAuditTrail(
      {
        auditLog: audit.auditLog,
        executedBy: 'plugin:scaffolder',
        parameterMaxLength: 256,
      },
      runs.fromTask(task),
    );
    t.started();
    t.log('Beginning step A', { stepId: 'a', status: 'processing' });
    t.log(`Finished step A with ${SECRET}`, {
      stepId: 'a',
      status: 'completed',
    });
    t.ended('completed');

    const text = audit.text();
    for (const leaked of [SECRET, TOKEN, INITIATOR, '__initiatorCredentials']) {
      expect({ leaked, found: text.includes(leaked) }).toEqual({
        leaked,
        found: false,
      });
    }
    const [execution, stepStart] = audit.records;
    expect(execution.meta?.parameters).toEqual({
      name: 'World',
      pasted: 'token is ***',
    });
    expect(stepStart.meta?.stepInputs).toEqual({ m: '***', t: 'Bearer ***' });
  });

  it('reports a failure of its own and never throws', () => {
    const { trail: t, auditLog } = trail({
      renderer: () => {
        throw new Error('renderer exploded');
      },
    });
    const reportFailure = jest.spyOn(auditLog, 'reportFailure');
    expect(() =>
      t.log('Beginning step A', { stepId: 'a', status: 'processing' }),
    ).not.toThrow();
    expect(reportFailure).toHaveBeenCalledWith(
      'scaffolder task lifecycle',
      expect.any(Error),
    );
  });
});
