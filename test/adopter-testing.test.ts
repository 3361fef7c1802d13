/**
 * How a plugin author tests the audit records of their own plugin, with the
 * test utilities of `@backstage-audit/plugin-audit-log-node/testUtils`, as
 * they test anything else with Backstage's `mockServices`. The README's
 * "Testing your plugin's audit records" section shows these two tests.
 */
import express from 'express';
import request from 'supertest';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  coreServices,
  createBackendPlugin,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  auditLogRouteTablesServiceRef,
  auditLogServiceRef,
  defineAuditRoutes,
} from '@backstage-audit/plugin-audit-log-node';
import {
  createRecordingSinkType,
  mockAuditLog,
} from '@backstage-audit/plugin-audit-log-node/testUtils';

/** The plugin under test: a todo list whose routes are audited. */
const todoPlugin = createBackendPlugin({
  pluginId: 'todo',
  register(env) {
    env.registerInit({
      deps: { httpRouter: coreServices.httpRouter },
      async init({ httpRouter }) {
        const router = express.Router();
        router.use(express.json());
        router.post('/todos', (req, res) => {
          res.status(201).json({ id: 't-1', title: req.body.title });
        });
        httpRouter.use(router);
      },
    });
  },
});

/** Its audit vocabulary, registered as every plugin's is. */
const todoAuditRoutes = createServiceFactory({
  service: auditLogRouteTablesServiceRef,
  deps: {},
  factory: () =>
    defineAuditRoutes('todo', [
      {
        method: 'POST',
        path: '/todos',
        eventName: 'TodoCreation',
        readsResponseBody: true,
        meta: ({ response }) => ({
          todoId: (response?.body as { id?: string } | undefined)?.id,
        }),
      },
    ]),
});

describe('testing a plugin with the audit log', () => {
  it('asserts on the records its routes produce, with the real audit log and a recording sink', async () => {
    const sink = createRecordingSinkType();
    const { server } = await startTestBackend({
      features: [
        todoPlugin,
        todoAuditRoutes,
        import('@backstage-audit/plugin-audit-log-backend'),
        sink.factory(),
        mockServices.rootConfig.factory({
          data: {
            auditLog: {
              plugins: ['todo'],
              stdout: { enabled: false },
              store: { enabled: false },
              sinks: { test: { type: 'recording' } },
            },
          },
        }),
      ],
    });

    await request(server)
      .post('/api/todo/todos')
      .set('Authorization', mockCredentials.user.header('user:default/alice'))
      .send({ title: 'write tests', apiKey: 'never-in-a-record' })
      .expect(201);

    const [initiation, completion] = sink
      .records()
      .filter(r => r.eventName === 'TodoCreation');
    expect(initiation).toMatchObject({
      eventName: 'TodoCreation',
      stage: 'initiation',
      actor: { actorId: 'user:default/alice' },
    });
    expect(completion).toMatchObject({
      eventName: 'TodoCreation',
      stage: 'completion',
      status: 'succeeded',
      meta: { todoId: 't-1' },
      request: { body: { title: 'write tests', apiKey: '***' } },
      response: { status: 201 },
    });
  });

  it('asserts on records the plugin emits itself, with an in-memory audit log', async () => {
    const auditLog = mockAuditLog();
    const nightlyJob = createBackendPlugin({
      pluginId: 'nightly',
      register(env) {
        env.registerInit({
          deps: { audit: auditLogServiceRef },
          async init({ audit }) {
            audit.emit({
              plugin: 'nightly',
              eventName: 'NightlyCleanup',
              stage: 'completion',
              status: 'succeeded',
              actor: { actorId: 'plugin:nightly' },
              meta: { removed: 3, token: 'not-in-the-record' },
            });
          },
        });
      },
    });
    await startTestBackend({ features: [nightlyJob, auditLog.factory()] });

    expect(auditLog.records).toEqual([
      expect.objectContaining({
        eventName: 'NightlyCleanup',
        meta: { removed: 3, token: '***' },
      }),
    ]);
    expect(auditLog.text()).not.toContain('not-in-the-record');
  });
});
