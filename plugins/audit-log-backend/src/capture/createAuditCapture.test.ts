import http from 'node:http';
import express, { Request, Response } from 'express';
import request from 'supertest';
import { mockServices } from '@backstage/backend-test-utils';
import { testPipeline } from '../__testUtils__/testPipeline';
import { createAuditCapture } from './createAuditCapture';

// A plain express app with the real capture and pipeline; httpAuth is
// Backstage's mock (no auth backend runs here), requests are anonymous.
async function setup() {
  const { pipeline, config, requests, actors, recording } =
    await testPipeline();
  const options = {
    pluginId: 'demo',
    auditLog: pipeline,
    httpAuth: mockServices.httpAuth(),
    config,
    requests,
    actors,
    waiting: pipeline.waits,
  };
  return {
    get records() {
      return recording.records();
    },
    options,
  };
}

describe('createAuditCapture', () => {
  it('records a response once when two captures see it, and both hooks still work', async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const records = () => setupResult.records;
    const outer = createAuditCapture(options);
    const inner = createAuditCapture(options);
    const app = express();
    app.use(outer.capture, inner.capture);
    app.get('/thing', (_req, res) => {
      res.status(201).json({ ok: true });
    });
    const response = await request(app).get('/thing');
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ ok: true });
    await new Promise(resolve => setImmediate(resolve));
    expect(
      records().map(r => `${r.stage}:${r.response?.status ?? '-'}`),
    ).toEqual(['initiation:-', 'completion:201']);
    expect(response.headers['audit-id']).toBe(records()[0].auditId);
  });

  it("gives the request context's actor whether asked before or after the actor is known", async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const { capture } = createAuditCapture(options);
    const app = express();
    app.use(capture);
    const asked = new Map<string, Promise<unknown>>();
    // Before the actor has resolved (the capture has just run)...
    app.get('/early', (req, res) => {
      asked.set('early', options.requests.get(req)!.actor);
      res.json({});
    });
    // ...and after it has.
    app.get('/late', (req, res) => {
      setImmediate(() => {
        asked.set('late', options.requests.get(req)!.actor);
        res.json({});
      });
    });
    for (const path of ['/early', '/late']) {
      await request(app).get(path).set('user-agent', `ua${path}`).expect(200);
    }
    for (const key of ['early', 'late']) {
      const initiation = setupResult.records.find(
        r => r.stage === 'initiation' && r.request?.url === `/${key}`,
      );
      await expect(asked.get(key)).resolves.toEqual({
        actorId: initiation!.actor.actorId,
        ip: initiation!.actor.ip,
        hostname: initiation!.actor.hostname,
        client: `ua/${key}`,
        tokenFingerprint: undefined,
      });
    }
  });

  it('keeps each concurrent response apart with the shared hooks', async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const records = () => setupResult.records;
    const { capture } = createAuditCapture(options);
    const app = express();
    app.use(capture);
    const statuses = [200, 201, 202, 203, 404];
    app.get('/n/:n', (req, res) => {
      const n = Number(req.params.n);
      // Later requests answer first.
      setTimeout(
        () => res.status(statuses[n]).json({ n: req.params.n }),
        5 - n,
      );
    });
    const responses = await Promise.all(
      [0, 1, 2, 3, 4].map(n => request(app).get(`/n/${n}`)),
    );
    await new Promise(resolve => setImmediate(resolve));
    for (const [n, response] of responses.entries()) {
      expect(response.body).toEqual({ n: String(n) });
      const completion = records().find(
        r =>
          r.stage === 'completion' &&
          r.auditId === response.headers['audit-id'],
      );
      expect(completion?.response?.status).toBe(statuses[n]);
      expect(completion?.request?.url).toBe(`/n/${n}`);
    }
    expect(records().filter(r => r.stage === 'completion')).toHaveLength(5);
  });

  it("hooks express responses through the app's response prototype, adding no property to any response", async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const records = () => setupResult.records;
    const { capture, errorCapture } = createAuditCapture(options);
    const app = express();
    // Served by the same app, so through the same (hooked) prototype, but never captured.
    app.get('/health', (_req, res) => {
      res.json({ healthy: true });
    });
    app.use(capture);
    const ownKeys: (string | symbol)[][] = [];
    app.get('/thing', (_req, res) => {
      ownKeys.push(Reflect.ownKeys(res));
      res.status(200).json({ ok: true });
    });
    app.get('/broken', () => {
      throw new Error('handler failed');
    });
    app.use(errorCapture);

    const before = Reflect.ownKeys(
      Object.getPrototypeOf(express.response) as object,
    );
    expect((await request(app).get('/thing')).status).toBe(200);
    expect((await request(app).get('/thing')).status).toBe(200);
    expect((await request(app).get('/health')).body).toEqual({
      healthy: true,
    });
    expect((await request(app).get('/broken')).status).toBe(500);
    await new Promise(resolve => setImmediate(resolve));

    // Per response: no own end/json and no symbol of ours.
    for (const keys of ownKeys) {
      expect(keys).not.toContain('end');
      expect(keys).not.toContain('json');
      expect(
        keys.filter(k => typeof k === 'symbol' && /audit/i.test(String(k))),
      ).toEqual([]);
    }
    // Only this app's prototype was hooked, not express's or Node's.
    expect(Object.prototype.hasOwnProperty.call(app.response, 'end')).toBe(
      true,
    );
    expect(Object.prototype.hasOwnProperty.call(express.response, 'end')).toBe(
      false,
    );
    expect(http.ServerResponse.prototype.end).toBe(
      http.OutgoingMessage.prototype.end,
    );
    expect(
      Reflect.ownKeys(Object.getPrototypeOf(express.response) as object),
    ).toEqual(before);

    expect(
      records().map(
        r => `${r.request?.url}:${r.stage}:${r.response?.status ?? '-'}`,
      ),
    ).toEqual([
      '/thing:initiation:-',
      '/thing:completion:200',
      '/thing:initiation:-',
      '/thing:completion:200',
      '/broken:initiation:-',
      '/broken:completion:500',
    ]);
    expect(records()[5].errors?.[0]).toMatchObject({
      message: 'handler failed',
    });
  });

  it("hooks a response that is not an express app's with its own properties", async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const records = () => setupResult.records;
    const { capture } = createAuditCapture(options);
    const endBefore = http.ServerResponse.prototype.end;
    const server = http.createServer((req, res) => {
      // What express would have set on the request.
      Object.assign(req, {
        baseUrl: '',
        path: '/bare',
        originalUrl: req.url,
        query: {},
      });
      capture(req as Request, res as unknown as Response, () => {
        res.statusCode = 202;
        res.end('done');
      });
    });
    const response = await request(server).get('/bare');
    expect(response.status).toBe(202);
    expect(response.text).toBe('done');
    await new Promise(resolve => setImmediate(resolve));
    expect(
      records().map(r => `${r.stage}:${r.response?.status ?? '-'}`),
    ).toEqual(['initiation:-', 'completion:202']);
    // Node's own prototype is left alone.
    expect(http.ServerResponse.prototype.end).toBe(endBefore);
  });

  it('hooks responses answered inside a mounted express sub-app', async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const records = () => setupResult.records;
    const { capture } = createAuditCapture(options);
    const app = express();
    app.use(capture);
    // A sub-app switches the response to its own prototype while it handles
    // it; express makes that prototype inherit from the parent app's.
    const subApp = express();
    subApp.get('/missing', (_req, res) => {
      res
        .status(404)
        .json({ error: { name: 'NotFoundError', message: 'no such thing' } });
    });
    app.use('/sub', subApp);
    expect((await request(app).get('/sub/missing')).status).toBe(404);
    await new Promise(resolve => setImmediate(resolve));
    const completion = records().find(r => r.stage === 'completion');
    expect(completion?.response?.status).toBe(404);
    // Only the json hook sees this body: the error is the handler's own.
    expect(completion?.errors?.[0]).toMatchObject({
      name: 'NotFoundError',
      message: 'no such thing',
    });
  });

  it('records before a response end that middleware ahead of it wrapped, from the first request on', async () => {
    const setupResult = await setup();
    const { options } = setupResult;
    const records = () => setupResult.records;
    const { capture } = createAuditCapture(options);
    const app = express();
    // As compression does: keep the end seen now, write the body later
    // through it. On the first request that end predates the prototype hook.
    const completionsSeenByWrapper: number[] = [];
    app.use((_req, res, next) => {
      const end = res.end;
      res.end = function wrappedEnd(this: Response, ...args: unknown[]) {
        completionsSeenByWrapper.push(
          records().filter(r => r.stage === 'completion').length,
        );
        return (end as (...a: unknown[]) => Response).apply(this, args);
      } as Response['end'];
      next();
    });
    app.use(capture);
    app.get('/thing', (_req, res) => {
      // Answer after the actor has resolved, as a handler behind the credentials barrier does.
      setImmediate(() => res.status(200).json({ ok: true }));
    });
    for (let i = 0; i < 3; i++) {
      expect((await request(app).get('/thing')).body).toEqual({ ok: true });
    }
    await new Promise(resolve => setImmediate(resolve));
    // Each request's completion record existed when the wrapper began to end it.
    expect(completionsSeenByWrapper).toEqual([1, 2, 3]);
    expect(records().filter(r => r.stage === 'completion')).toHaveLength(3);
  });
});
