import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { mockServices } from '@backstage/backend-test-utils';
import {
  coreServices,
  createBackendModule,
  DatabaseService,
  SchedulerService,
  ServiceFactory,
} from '@backstage/backend-plugin-api';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  alice,
  AuditedBackend,
  EXAMPLES,
  startAuditedBackend,
  waitForEntity,
} from '../../../test/support/auditedBackend';
import { ScaffolderLifecycleEvents as E } from './lifecycle/eventNames';

const CANARY = 'canary-lifecycle-4b1d9e';
const HELLO = 'template:default/hello-audit';
const WAIT = 'template:default/wait-a-while';
const ALICE = 'user:default/alice';
const LIFECYCLE = new Set<string>(Object.values(E));
const helloTemplate = parse(
  fs.readFileSync(path.join(EXAMPLES, 'templates/hello/template.yaml'), 'utf8'),
);

/** One line per record: what happened, in order. */
function summary(r: AuditRecord): string {
  const m = r.meta ?? {};
  const detail =
    r.eventName === E.stepIteration
      ? `#${m.iterationIndex}/${m.iterationTotal}`
      : ((m.outcome ?? m.skipReason ?? '') as string);
  return [r.eventName, r.stage, r.status, m.stepId ?? '-', detail]
    .join(' ')
    .trim();
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const found = probe();
    if (found !== undefined) {
      return found;
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('scaffolder task lifecycle on the real scaffolder', () => {
  let backend: AuditedBackend;

  beforeAll(async () => {
    backend = await startAuditedBackend({
      auditLog: { scaffolder: { parameterMaxLength: 64 } },
    });
    await waitForEntity(backend.server, HELLO);
    await waitForEntity(backend.server, WAIT);
  });

  // Checked after stop, so that shutdown output is covered too.
  /* eslint-disable jest/no-standalone-expect */
  afterAll(async () => {
    await backend?.stop();
    const text = backend.output.text();
    // Secrets and values derived from them by templating: nowhere, in any output.
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(CANARY.toUpperCase());
    // Records of real tasks are never marked as dry runs.
    for (const r of backend.output.records()) {
      if (LIFECYCLE.has(r.eventName) && r.meta?.taskId) {
        expect(r.meta).not.toHaveProperty('isDryLog');
      }
    }
  });
  /* eslint-enable jest/no-standalone-expect */

  const lifecycleRecords = (pred: (r: AuditRecord) => boolean) =>
    backend.output.records().filter(r => LIFECYCLE.has(r.eventName) && pred(r));

  async function createTask(templateRef: string, values: object) {
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/tasks')
      .set('Authorization', alice())
      .send({ templateRef, values, secrets: { deployKey: CANARY } });
    expect(res.status).toBe(201);
    return {
      taskId: res.body.id as string,
      creationAuditId: res.headers['audit-id'] as string,
    };
  }

  /** The task's lifecycle records once its execution has completed. */
  async function taskRecords(taskId: string): Promise<AuditRecord[]> {
    await waitFor(
      'the task completion record',
      () =>
        lifecycleRecords(
          r =>
            r.meta?.taskId === taskId &&
            r.eventName === E.taskExecution &&
            r.stage === 'completion',
        )[0],
    );
    return lifecycleRecords(r => r.meta?.taskId === taskId);
  }

  /** Attribution, correlation and pairing every lifecycle record of a run must show. */
  function expectAttributed(
    records: AuditRecord[],
    expected: {
      taskId?: string;
      creationAuditId: string;
      templateRef: string;
      dryRun?: boolean;
    },
  ) {
    for (const r of records) {
      expect(r).toMatchObject({
        plugin: 'scaffolder',
        actor: { actorId: ALICE },
      });
      expect(r.meta).toMatchObject({
        templateRef: expected.templateRef,
        createdBy: ALICE,
        executedBy: 'plugin:scaffolder',
        creationAuditId: expected.creationAuditId,
      });
      if (expected.dryRun) {
        expect(r.meta?.isDryLog).toBe(true);
        expect(r.meta).not.toHaveProperty('taskId');
      } else {
        expect(r.meta?.taskId).toBe(expected.taskId);
        expect(r.meta).not.toHaveProperty('isDryLog');
      }
      // The HTTP request's auditId is only referenced, never reused.
      expect(r.auditId).not.toBe(expected.creationAuditId);
    }
    // One auditId per execution and per step, shared by its initiation and completion.
    const byAuditId = new Map<string, AuditRecord[]>();
    for (const r of records.filter(
      x => x.eventName === E.taskExecution || x.eventName === E.stepExecution,
    )) {
      byAuditId.set(r.auditId, [...(byAuditId.get(r.auditId) ?? []), r]);
    }
    for (const pair of byAuditId.values()) {
      expect(pair.map(r => r.stage)).toEqual(['initiation', 'completion']);
      expect(new Set(pair.map(r => r.meta?.stepId)).size).toBe(1);
    }
    const stepAuditIds = new Map(
      records
        .filter(r => r.eventName === E.stepExecution)
        .map(r => [r.meta?.stepId, r.auditId]),
    );
    for (const r of records.filter(
      x => x.eventName === E.stepSkip || x.eventName === E.stepIteration,
    )) {
      if (r.meta?.stepAuditId !== undefined) {
        expect(r.meta.stepAuditId).toBe(stepAuditIds.get(r.meta.stepId));
      }
    }
  }

  const step = (
    records: AuditRecord[],
    event: string,
    stepId: string,
    stage = 'completion',
  ) =>
    records.find(
      r =>
        r.eventName === event && r.meta?.stepId === stepId && r.stage === stage,
    )!;

  it('records a successful task: execution, steps, an `if` skip and `each` iterations', async () => {
    const created = await createTask(HELLO, {
      name: 'World',
      apiToken: 'parameter-token-1',
      note: 'n'.repeat(100),
    });
    const records = await taskRecords(created.taskId);

    expect(records.map(summary)).toEqual([
      'ScaffolderTaskExecution initiation succeeded -',
      'ScaffolderTaskStepExecution initiation succeeded greet',
      'ScaffolderTaskStepExecution completion succeeded greet completed',
      'ScaffolderTaskStepExecution initiation succeeded shout',
      'ScaffolderTaskStepExecution completion succeeded shout skipped',
      'ScaffolderTaskStepSkip completion succeeded shout condition-false',
      'ScaffolderTaskStepExecution initiation succeeded each-env',
      'ScaffolderTaskStepIteration completion succeeded each-env #0/2',
      'ScaffolderTaskStepIteration completion succeeded each-env #1/2',
      'ScaffolderTaskStepExecution completion succeeded each-env completed',
      'ScaffolderTaskStepExecution initiation succeeded fail',
      'ScaffolderTaskStepExecution completion succeeded fail skipped',
      'ScaffolderTaskStepSkip completion succeeded fail condition-false',
      'ScaffolderTaskExecution completion succeeded - completed',
    ]);
    expectAttributed(records, { ...created, templateRef: HELLO });

    const [init] = records;
    const done = records[records.length - 1];
    // Parameters: credential-like keys redacted, long values cut at the configured cap.
    const parameters = {
      name: 'World',
      apiToken: '***',
      note: `${'n'.repeat(64)}...<truncated>`,
    };
    expect(init.meta?.parameters).toEqual(parameters);
    expect(done.meta).toMatchObject({ parameters, outcome: 'completed' });
    expect(done.errors).toBeUndefined();

    expect(
      step(records, E.stepExecution, 'greet', 'initiation').meta,
    ).toMatchObject({
      stepName: 'Greet',
      stepAction: 'debug:log',
      stepInputs: { message: 'Hello, World!' },
    });
    expect(step(records, E.stepExecution, 'shout').meta).toMatchObject({
      stepConditional: '${{ parameters.shout }}',
      outcome: 'skipped',
    });
    expect(step(records, E.stepSkip, 'shout').meta).toMatchObject({
      stepName: 'Shout (skipped unless asked)',
      stepAction: 'debug:log',
      stepConditional: '${{ parameters.shout }}',
      skipReason: 'condition-false',
    });

    // The `each` step: as written at step level, rendered per iteration, secret masked.
    const eachStep = step(records, E.stepExecution, 'each-env', 'initiation');
    expect(eachStep.meta).toMatchObject({
      stepEach: ['dev', 'prod'],
      stepInputs: {
        message:
          'Deploying to ${{ each.value }} with key ${{ secrets.deployKey }}',
      },
    });
    const iterations = records.filter(r => r.eventName === E.stepIteration);
    expect(iterations.map(r => r.meta)).toEqual([
      expect.objectContaining({
        stepId: 'each-env',
        iterationIndex: 0,
        iterationKey: '0',
        iterationValue: 'dev',
        iterationTotal: 2,
        iterationRan: true,
        stepInputs: { message: 'Deploying to dev with key ***' },
      }),
      expect.objectContaining({
        iterationIndex: 1,
        iterationKey: '1',
        iterationValue: 'prod',
        iterationTotal: 2,
        stepInputs: { message: 'Deploying to prod with key ***' },
      }),
    ]);
  });

  it('records a failing step and the failed task, with the error', async () => {
    const created = await createTask(HELLO, { name: 'World', fail: true });
    const records = await taskRecords(created.taskId);

    expect(records.map(summary)).toEqual([
      'ScaffolderTaskExecution initiation succeeded -',
      'ScaffolderTaskStepExecution initiation succeeded greet',
      'ScaffolderTaskStepExecution completion succeeded greet completed',
      'ScaffolderTaskStepExecution initiation succeeded shout',
      'ScaffolderTaskStepExecution completion succeeded shout skipped',
      'ScaffolderTaskStepSkip completion succeeded shout condition-false',
      'ScaffolderTaskStepExecution initiation succeeded each-env',
      'ScaffolderTaskStepIteration completion succeeded each-env #0/2',
      'ScaffolderTaskStepIteration completion succeeded each-env #1/2',
      'ScaffolderTaskStepExecution completion succeeded each-env completed',
      'ScaffolderTaskStepExecution initiation succeeded fail',
      'ScaffolderTaskStepExecution completion failed fail failed',
      'ScaffolderTaskExecution completion failed - failed',
    ]);
    expectAttributed(records, { ...created, templateRef: HELLO });

    const failed = step(records, E.stepExecution, 'fail');
    expect(failed.meta).toMatchObject({
      stepConditional: '${{ parameters.fail }}',
      stepInputs: { listWorkspace: 'not-a-boolean' },
    });
    expect(failed.errors).toEqual([
      {
        name: 'InputError',
        message: expect.stringContaining(
          'Invalid input passed to action debug:log',
        ),
      },
    ]);
    const done = records[records.length - 1];
    expect(done.meta?.outcome).toBe('failed');
    expect(done.errors).toEqual([
      {
        name: 'InputError',
        message: expect.stringContaining(
          'Invalid input passed to action debug:log',
        ),
      },
    ]);
  });

  it('records a cancelled task as cancelled, never as succeeded', async () => {
    const created = await createTask(WAIT, { seconds: 30 });
    await waitFor(
      'the wait step to begin',
      () =>
        lifecycleRecords(
          r => r.meta?.taskId === created.taskId && r.meta?.stepId === 'wait',
        )[0],
    );
    const cancel = await request(backend.server)
      .post(`/api/scaffolder/v2/tasks/${created.taskId}/cancel`)
      .set('Authorization', alice());
    expect(cancel.status).toBe(200);
    const records = await taskRecords(created.taskId);

    expect(records.map(summary)).toEqual([
      'ScaffolderTaskExecution initiation succeeded -',
      'ScaffolderTaskStepExecution initiation succeeded wait',
      'ScaffolderTaskStepExecution completion failed wait cancelled',
      'ScaffolderTaskStepSkip completion succeeded done previous-step-failed',
      'ScaffolderTaskExecution completion failed - cancelled',
    ]);
    expectAttributed(records, { ...created, templateRef: WAIT });
    expect(
      step(records, E.stepExecution, 'wait', 'initiation').meta,
    ).toMatchObject({
      stepAction: 'debug:wait',
      stepInputs: { seconds: 30 },
    });
    const done = records[records.length - 1];
    expect(done.meta).toMatchObject({
      parameters: { seconds: 30 },
      outcome: 'cancelled',
    });
    expect(done.errors).toEqual([
      { name: 'TaskCancelled', message: 'The task was cancelled' },
      { name: 'Error', message: expect.stringContaining('has been cancelled') },
    ]);
  });

  it('records a dry run, every record marked isDryLog and attributed to the requester', async () => {
    const template = structuredClone(helloTemplate);
    // A value derived from a secret by templating must not survive either.
    template.spec.steps.push({
      id: 'derived',
      name: 'Derived',
      action: 'debug:log',
      input: { message: 'key ${{ secrets.deployKey | upper }}' },
    });
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set('Authorization', alice())
      .send({
        template,
        values: { name: 'Dry' },
        secrets: { deployKey: CANARY },
        directoryContents: [],
      });
    expect(res.status).toBe(200);
    const creationAuditId = res.headers['audit-id'] as string;
    const records = await waitFor('the dry run records', () => {
      const found = lifecycleRecords(
        r => r.meta?.creationAuditId === creationAuditId,
      );
      return found.some(
        r => r.eventName === E.taskExecution && r.stage === 'completion',
      )
        ? found
        : undefined;
    });

    expect(records.map(summary)).toEqual([
      'ScaffolderTaskExecution initiation succeeded -',
      'ScaffolderTaskStepExecution initiation succeeded greet',
      'ScaffolderTaskStepExecution completion succeeded greet completed',
      'ScaffolderTaskStepExecution initiation succeeded shout',
      'ScaffolderTaskStepExecution completion succeeded shout skipped',
      'ScaffolderTaskStepSkip completion succeeded shout condition-false',
      'ScaffolderTaskStepExecution initiation succeeded each-env',
      'ScaffolderTaskStepIteration completion succeeded each-env #0/2',
      'ScaffolderTaskStepIteration completion succeeded each-env #1/2',
      'ScaffolderTaskStepExecution completion succeeded each-env completed',
      'ScaffolderTaskStepExecution initiation succeeded fail',
      'ScaffolderTaskStepExecution completion succeeded fail skipped',
      'ScaffolderTaskStepSkip completion succeeded fail condition-false',
      'ScaffolderTaskStepExecution initiation succeeded derived',
      'ScaffolderTaskStepExecution completion succeeded derived completed',
      'ScaffolderTaskExecution completion succeeded - completed',
    ]);
    expectAttributed(records, {
      creationAuditId,
      templateRef: HELLO,
      dryRun: true,
    });
    expect(records[0].meta?.parameters).toEqual({ name: 'Dry' });
    expect(
      step(records, E.stepExecution, 'greet', 'initiation').meta?.stepInputs,
    ).toEqual({
      message: 'Hello, Dry!',
    });
    expect(
      step(records, E.stepExecution, 'derived', 'initiation').meta?.stepInputs,
    ).toEqual({
      message: 'key ***',
    });
    expect(
      records
        .filter(r => r.eventName === E.stepIteration)
        .map(r => r.meta?.stepInputs),
    ).toEqual([
      { message: 'Deploying to dev with key ***' },
      { message: 'Deploying to prod with key ***' },
    ]);
  });

  it('records step inputs as the action received them, values converted as the runner converts them', async () => {
    // Since scaffolder-backend 4.3 the runner renders inputs with JSON
    // coercion: a block that prints `true` gives the boolean, not "true".
    // debug:log refuses a string listWorkspace, so the dry run only succeeds
    // if the action got the boolean; the record must show the same value.
    const template = structuredClone(helloTemplate);
    template.spec.steps = [
      {
        id: 'coerced',
        name: 'Coerced',
        action: 'debug:log',
        input: {
          listWorkspace:
            '{% if parameters.shout %}${{ parameters.shout }}{% endif %}',
          message: 'Hello, ${{ parameters.name }}!',
        },
      },
    ];
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set('Authorization', alice())
      .send({
        template,
        values: { name: 'Dry', shout: true },
        secrets: {},
        directoryContents: [],
      });
    expect(res.status).toBe(200);
    const creationAuditId = res.headers['audit-id'] as string;
    const records = await waitFor('the dry run records', () => {
      const found = lifecycleRecords(
        r => r.meta?.creationAuditId === creationAuditId,
      );
      return found.some(
        r => r.eventName === E.taskExecution && r.stage === 'completion',
      )
        ? found
        : undefined;
    });
    expect(
      step(records, E.stepExecution, 'coerced', 'initiation').meta?.stepInputs,
    ).toEqual({ listWorkspace: true, message: 'Hello, Dry!' });
    expect(step(records, E.stepExecution, 'coerced').meta?.outcome).toBe(
      'completed',
    );
  });

  it('records a dry run that fails as a failed execution (upstream returns no step log then)', async () => {
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/dry-run')
      .set('Authorization', alice())
      .send({
        template: helloTemplate,
        values: { name: 'Dry', fail: true },
        secrets: { deployKey: CANARY },
        directoryContents: [],
      });
    expect(res.status).toBe(400);
    const creationAuditId = res.headers['audit-id'] as string;
    const records = await waitFor('the failed dry run records', () => {
      const found = lifecycleRecords(
        r => r.meta?.creationAuditId === creationAuditId,
      );
      return found.length >= 2 ? found : undefined;
    });
    expect(records.map(summary)).toEqual([
      'ScaffolderTaskExecution initiation succeeded -',
      'ScaffolderTaskExecution completion failed - failed',
    ]);
    expectAttributed(records, {
      creationAuditId,
      templateRef: HELLO,
      dryRun: true,
    });
    expect(records[1].errors).toEqual([
      {
        name: 'InputError',
        message: expect.stringContaining(
          'Invalid input passed to action debug:log',
        ),
      },
    ]);
  });

  it("writes no duplicate of the scaffolder's own execution events", () => {
    // Upstream's `task` auditor events (actor plugin:scaffolder) are superseded by the records above.
    expect(
      backend.output.records().filter(r => r.eventName === 'scaffolder.task'),
    ).toEqual([]);
    expect(
      backend.records({ eventName: 'ScaffolderTaskExecution' }).length,
    ).toBeGreaterThan(0);
  });
});

describe('stale task cancellation', () => {
  // The instance is a MockSchedulerService (typed as SchedulerService): it can
  // be installed and its tasks triggered by hand.
  const scheduler = mockServices.scheduler() as unknown as SchedulerService & {
    factory(options: { skipTaskRunOnStartup: boolean }): ServiceFactory;
  };
  let database: DatabaseService | undefined;
  // Shares the scaffolder's own database: same plugin id, same knex client.
  const scaffolderDatabase = createBackendModule({
    pluginId: 'scaffolder',
    moduleId: 'test-database',
    register(reg) {
      reg.registerInit({
        deps: { db: coreServices.database },
        async init({ db }) {
          database = db;
        },
      });
    },
  });
  let backend: AuditedBackend;

  beforeAll(async () => {
    backend = await startAuditedBackend({
      config: {
        scaffolder: {
          // No worker: the task stays where the test puts it.
          concurrentTasksLimit: 0,
          taskTimeout: { seconds: 5 },
          taskTimeoutJanitorFrequency: { minutes: 60 },
        },
      },
      features: [
        scheduler.factory({ skipTaskRunOnStartup: true }),
        scaffolderDatabase,
      ],
    });
    await waitForEntity(backend.server, HELLO);
  });

  afterAll(async () => {
    await backend?.stop();
    // eslint-disable-next-line jest/no-standalone-expect -- checked after stop, so that shutdown output is covered too
    expect(backend.output.text()).not.toContain(CANARY);
  });

  it('records the janitor cancelling a task whose heartbeat went stale, as its creator', async () => {
    const created = await request(backend.server)
      .post('/api/scaffolder/v2/tasks')
      .set('Authorization', alice())
      .send({
        templateRef: HELLO,
        values: { name: 'Stale' },
        secrets: { deployKey: CANARY },
      });
    expect(created.status).toBe(201);
    const taskId = created.body.id as string;
    const knex = await database!.getClient();
    await knex('tasks').where({ id: taskId }).update({
      status: 'processing',
      last_heartbeat_at: '2000-01-01 00:00:00',
    });

    await scheduler.triggerTask('close_stale_tasks');

    const [record, ...more] = backend.records({
      eventName: E.staleTaskCancellation,
    });
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      plugin: 'scaffolder',
      stage: 'completion',
      status: 'succeeded',
      actor: { actorId: ALICE },
      meta: {
        taskId,
        templateRef: HELLO,
        createdBy: ALICE,
        executedBy: 'plugin:scaffolder',
        creationAuditId: created.headers['audit-id'],
        taskTimeoutSeconds: 5,
        lastHeartbeatAt: expect.stringMatching(/^2000-01-01T00:00:00/),
      },
    });
    expect(record.meta).not.toHaveProperty('isDryLog');
    // The janitor did upstream's work too: the task is failed.
    const task = await request(backend.server)
      .get(`/api/scaffolder/v2/tasks/${taskId}`)
      .set('Authorization', alice());
    expect(task.body.status).toBe('failed');
  });
});
