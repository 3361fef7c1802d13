import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import {
  alice,
  AuditedBackend,
  EXAMPLES,
  mallory,
  startAuditedBackend,
  waitForEntity,
} from '../../../test/support/auditedBackend';
import { scaffolderAuditRoutes } from './scaffolderAuditRoutes';

const CANARY = 'canary-scaffolder-7f3a9c1e';
const TEMPLATE_REF = 'template:default/hello-audit';
const template = parse(
  fs.readFileSync(path.join(EXAMPLES, 'templates/hello/template.yaml'), 'utf8'),
);

interface Call {
  method: 'GET' | 'POST';
  url: string;
  body?: object;
  row: string;
  /** The status the real scaffolder answers this call with. */
  status: number;
  /** What the row's records carry beyond the common fields. */
  check: (init: AuditRecord, done: AuditRecord) => void;
}

describe('scaffolder audit on the real scaffolder backend', () => {
  let backend: AuditedBackend;

  beforeAll(async () => {
    backend = await startAuditedBackend();
    await waitForEntity(backend.server, TEMPLATE_REF);
  });

  afterAll(async () => {
    await backend?.stop();
    // Secrets went into task creation, retry, dry run and autocomplete: none may surface.
    // eslint-disable-next-line jest/no-standalone-expect -- checked after stop, so that shutdown output is covered too
    expect(backend.output.text()).not.toContain(CANARY);
  });

  async function send(
    method: 'GET' | 'POST',
    url: string,
    body?: object,
    auth = alice(),
  ) {
    let req = request(backend.server)
      [method === 'GET' ? 'get' : 'post'](url)
      .set('Authorization', auth);
    if (body) {
      req = req.send(body);
    }
    const res = await req;
    const records = await backend.completion(res.headers['audit-id'] as string);
    return { res, records };
  }

  async function waitForTask(taskId: string): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const res = await request(backend.server)
        .get(`/api/scaffolder/v2/tasks/${taskId}`)
        .set('Authorization', alice());
      if (['completed', 'failed', 'cancelled'].includes(res.body.status)) {
        return res.body.status;
      }
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`task ${taskId} never finished`);
  }

  it('records every row of the scaffolder table with its meta', async () => {
    const created = await send('POST', '/api/scaffolder/v2/tasks', {
      templateRef: TEMPLATE_REF,
      values: { name: 'World' },
      secrets: { deployKey: CANARY },
    });
    expect(created.res.status).toBe(201);
    const taskId = created.res.body.id as string;
    expect(created.records[1].meta).toEqual({
      templateRef: TEMPLATE_REF,
      taskId,
    });
    expect(created.records[1].request?.body).toMatchObject({
      templateRef: TEMPLATE_REF,
      values: { name: 'World' },
      secrets: { deployKey: '***' },
    });
    await waitForTask(taskId);

    const calls: Call[] = [
      {
        method: 'GET',
        url: '/api/scaffolder/v2/templates/default/template/hello-audit/parameter-schema',
        row: 'GET /v2/templates/:namespace/:kind/:name/parameter-schema',
        status: 200,
        check: init => expect(init.meta).toEqual({ templateRef: TEMPLATE_REF }),
      },
      {
        method: 'GET',
        url: '/api/scaffolder/v2/actions',
        row: 'GET /v2/actions',
        status: 200,
        check: (init, done) => {
          expect(init.meta).toBeUndefined();
          expect(done.meta).toBeUndefined();
        },
      },
      {
        method: 'POST',
        url: '/api/scaffolder/v2/tasks',
        body: {
          templateRef: TEMPLATE_REF,
          values: { name: 'Again' },
          secrets: { deployKey: CANARY },
        },
        row: 'POST /v2/tasks',
        status: 201,
        check: (init, done) => {
          expect(init.meta).toBeUndefined();
          expect(done.meta).toEqual({
            templateRef: TEMPLATE_REF,
            taskId: expect.any(String),
          });
        },
      },
      {
        method: 'GET',
        url: '/api/scaffolder/v2/tasks?createdBy=user:default/alice',
        row: 'GET /v2/tasks',
        status: 200,
        check: init =>
          expect(init.meta).toEqual({ createdBy: 'user:default/alice' }),
      },
      {
        method: 'GET',
        url: `/api/scaffolder/v2/tasks/${taskId}`,
        row: 'GET /v2/tasks/:taskId',
        status: 200,
        check: init => expect(init.meta).toEqual({ taskId }),
      },
      {
        method: 'GET',
        url: `/api/scaffolder/v2/tasks/${taskId}/events`,
        row: 'GET /v2/tasks/:taskId/events',
        status: 200,
        check: init => expect(init.meta).toEqual({ taskId }),
      },
      {
        method: 'GET',
        url: `/api/scaffolder/v2/tasks/${taskId}/eventstream`,
        row: 'GET /v2/tasks/:taskId/eventstream',
        status: 200,
        // The task has finished: the stream replays its events and ends normally.
        check: (init, done) => {
          expect(init.meta).toEqual({ taskId });
          expect(done.response).toEqual({ status: 200 });
        },
      },
      {
        method: 'POST',
        url: `/api/scaffolder/v2/tasks/${taskId}/cancel`,
        row: 'POST /v2/tasks/:taskId/cancel',
        status: 200,
        check: init => expect(init.meta).toEqual({ taskId }),
      },
      {
        method: 'POST',
        url: `/api/scaffolder/v2/tasks/${taskId}/retry`,
        body: { secrets: { deployKey: CANARY } },
        row: 'POST /v2/tasks/:taskId/retry',
        status: 201,
        check: (_i, done) => {
          expect(done.meta).toEqual({ taskId });
          expect(done.request?.body).toEqual({ secrets: { deployKey: '***' } });
        },
      },
      {
        method: 'POST',
        url: '/api/scaffolder/v2/dry-run',
        body: {
          template,
          values: { name: 'Dry' },
          secrets: { deployKey: CANARY },
          directoryContents: [],
        },
        row: 'POST /v2/dry-run',
        status: 200,
        check: (init, done) => {
          expect(done.response?.status).toBe(200);
          expect(init.meta).toEqual({ isDryLog: true });
          expect(done.meta).toEqual({
            templateRef: TEMPLATE_REF,
            isDryLog: true,
          });
          // The dry-run result (rendered files, logs) is not dumped into the record.
          expect(done.response).toEqual({ status: 200 });
          expect((done.request?.body as { secrets: unknown }).secrets).toEqual({
            deployKey: '***',
          });
        },
      },
      {
        method: 'POST',
        url: '/api/scaffolder/v2/autocomplete/github/repositories',
        body: { token: CANARY, context: {} },
        row: 'POST /v2/autocomplete/:provider/:resource',
        status: 400,
        check: (_i, done) => {
          expect(done.meta).toEqual({
            provider: 'github',
            resource: 'repositories',
          });
          expect(done.request?.body).toEqual({ token: '***', context: {} });
        },
      },
      {
        method: 'GET',
        url: '/api/scaffolder/v2/templating-extensions',
        row: 'GET /v2/templating-extensions',
        status: 200,
        check: (init, done) => {
          expect(init.meta).toBeUndefined();
          expect(done.meta).toBeUndefined();
        },
      },
    ];
    const rows = scaffolderAuditRoutes.routes.map(r => `${r.method} ${r.path}`);
    expect(new Set(calls.map(c => c.row))).toEqual(new Set(rows));

    for (const call of calls) {
      const { res, records } = await send(call.method, call.url, call.body);
      expect({ row: call.row, status: res.status }).toEqual({
        row: call.row,
        status: call.status,
      });
      const row = scaffolderAuditRoutes.routes.find(
        r => `${r.method} ${r.path}` === call.row,
      )!;
      expect(records.map(r => r.stage)).toEqual(['initiation', 'completion']);
      const [init, done] = records;
      expect(init).toMatchObject({
        eventName: row.eventName,
        plugin: 'scaffolder',
        status: 'succeeded',
        actor: { actorId: 'user:default/alice' },
        request: { method: call.method, url: call.url },
      });
      expect(done).toMatchObject({
        eventName: row.eventName,
        response: { status: call.status },
        status: call.status < 400 ? 'succeeded' : 'failed',
      });
      if (call.status >= 400) {
        // eslint-disable-next-line jest/no-conditional-expect -- only a failed call must carry errors
        expect(done.errors?.length).toBeGreaterThan(0);
      }
      call.check(init, done);
    }
  });

  it('records a denied task creation (403) as a failed attempt by the denied user', async () => {
    const { res, records } = await send(
      'POST',
      '/api/scaffolder/v2/tasks',
      {
        templateRef: TEMPLATE_REF,
        values: { name: 'Nope' },
        secrets: { deployKey: CANARY },
      },
      mallory(),
    );
    expect(res.status).toBe(403);
    expect(records[1]).toMatchObject({
      eventName: 'ScaffolderTaskCreation',
      status: 'failed',
      actor: { actorId: 'user:default/mallory' },
      errors: [{ name: 'NotAllowedError' }],
    });
    expect(records[1].request?.body).toMatchObject({
      secrets: { deployKey: '***' },
    });
  });

  it('records a stream the client closes after its 200 by that status, marked clientClosed; one left before any status as failed 499', async () => {
    await waitForEntity(backend.server, 'template:default/wait-a-while');
    const created = await send('POST', '/api/scaffolder/v2/tasks', {
      templateRef: 'template:default/wait-a-while',
      values: { seconds: 30 },
    });
    const taskId = created.res.body.id as string;
    const address = backend.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}/api/scaffolder/v2/tasks/${taskId}`;

    // A browser ends an event stream by closing it: the data was delivered.
    const streaming = new AbortController();
    const stream = await fetch(`${base}/eventstream`, {
      headers: { Authorization: alice() },
      signal: streaming.signal,
    });
    const streamId = stream.headers.get('audit-id')!;
    expect(stream.status).toBe(200);
    streaming.abort();
    const records = await backend.completion(streamId);
    await new Promise(r => setTimeout(r, 100));
    expect(
      backend.records({ auditId: streamId }).map(r => [r.stage, r.status]),
    ).toEqual([
      ['initiation', 'succeeded'],
      ['completion', 'succeeded'],
    ]);
    expect(records[1].response).toEqual({ status: 200, clientClosed: true });
    expect(records[1].errors).toBeUndefined();

    // A long poll (no event after this index) left before any status was sent.
    const polling = new AbortController();
    const poll = fetch(`${base}/events?after=1000000`, {
      headers: { Authorization: alice() },
      signal: polling.signal,
    }).catch(() => undefined);
    let pollId: string | undefined;
    for (let i = 0; i < 100 && !pollId; i++) {
      await new Promise(r => setTimeout(r, 20));
      pollId = backend
        .records({ eventName: 'ScaffolderTaskEventFetch' })
        .find(
          r => r.stage === 'initiation' && r.meta?.taskId === taskId,
        )?.auditId;
    }
    expect(pollId).toBeDefined();
    polling.abort();
    await poll;
    const left = await backend.completion(pollId!);
    expect(left[1]).toMatchObject({
      status: 'failed',
      response: { status: 499 },
      errors: [{ name: 'ClientClosedRequest', message: expect.any(String) }],
    });
    expect(left[1].response?.clientClosed).toBeUndefined();
    await send('POST', `/api/scaffolder/v2/tasks/${taskId}/cancel`);
  });
});
