/**
 * Starts the example backend the way a user does (`npm start`, real HTTP on a
 * free port, embedded SQLite), drives the catalog and the scaffolder with
 * canary secrets planted in every place a secret can travel, and reads the
 * process's whole stdout and stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  ExampleBackend,
  ROOT,
  startExampleBackend,
  waitForExampleEntity,
} from './support/exampleBackend';
import { assertValidRecords } from './support/recordSchema';

const CANARIES = {
  query: 'canary-query-51d2',
  accessToken: 'canary-access-token-8be0',
  cookie: 'canary-cookie-a77f',
  apiKeyHeader: 'canary-header-19c3',
  refreshToken: 'canary-refresh-token-4e21',
  deepPassword: 'canary-deep-password-0b5d',
  dryRunSecret: 'canary-dry-run-secret-c9e8',
  taskSecret: 'canary-task-secret-6f14',
};

describe('example backend started with npm start', () => {
  let backend: ExampleBackend;
  let stdout = '';
  let stderr = '';
  const auditIds: Record<string, string> = {};

  async function call(
    name: string,
    method: string,
    url: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const res = await fetch(`${backend.base}${url}`, {
      method,
      headers: {
        Authorization: `Bearer ${backend.token}`,
        ...(options.body ? { 'Content-Type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
    await res.text();
    auditIds[name] = res.headers.get('audit-id') ?? '';
    return res;
  }

  beforeAll(async () => {
    backend = await startExampleBackend();
    await waitForExampleEntity(backend, 'template:default/hello-audit');

    await call(
      'byName',
      'GET',
      '/api/catalog/entities/by-name/component/default/payments-api',
    );
    await call(
      'queryToken',
      'GET',
      `/api/catalog/entities/by-query?limit=1&token=${CANARIES.query}`,
    );
    await call(
      'accessToken',
      'GET',
      `/api/catalog/locations?access_token=${CANARIES.accessToken}`,
    );
    await call('cookie', 'GET', '/api/catalog/locations', {
      headers: {
        Cookie: `backstage-auth=${CANARIES.cookie}; theme=dark`,
        'X-Api-Key': CANARIES.apiKeyHeader,
      },
    });
    await call('refresh', 'POST', '/api/catalog/refresh', {
      body: {
        entityRef: 'component:default/payments-api',
        authorizationToken: CANARIES.refreshToken,
      },
    });
    await call('deep', 'POST', '/api/catalog/entities/by-refs', {
      body: {
        entityRefs: ['component:default/payments-api'],
        extra: { a: { b: [{ password: CANARIES.deepPassword }] } },
      },
    });
    const template = parse(
      fs.readFileSync(
        path.join(
          ROOT,
          'packages/backend/examples/templates/hello/template.yaml',
        ),
        'utf8',
      ),
    );
    await call('dryRun', 'POST', '/api/scaffolder/v2/dry-run', {
      body: {
        template,
        values: { name: 'e2e' },
        secrets: { deployKey: CANARIES.dryRunSecret },
        directoryContents: [],
      },
    });
    const task = await call('task', 'POST', '/api/scaffolder/v2/tasks', {
      body: {
        templateRef: 'template:default/hello-audit',
        values: { name: 'e2e' },
        secrets: { deployKey: CANARIES.taskSecret },
      },
    });
    expect(task.status).toBe(201);
    // Let the task run (its `each` step renders the secret into its input).
    await new Promise(r => setTimeout(r, 3000));

    await backend.stop();
    stdout = backend.stdout();
    stderr = backend.stderr();
  }, 240_000);

  afterAll(async () => {
    await backend?.stop();
  });

  function auditLines() {
    const records = stdout
      .split('\n')
      .filter(l => l.includes('"isAuditLog":true'))
      .map(l => JSON.parse(l));
    assertValidRecords(records);
    return records;
  }

  it('prints an initiation and a completion record on stdout for every request', () => {
    const records = auditLines();
    for (const [name, auditId] of Object.entries(auditIds)) {
      expect({
        name,
        stages: records.filter(r => r.auditId === auditId).map(r => r.stage),
      }).toEqual({
        name,
        stages: ['initiation', 'completion'],
      });
    }
    const byName = records.filter(r => r.auditId === auditIds.byName);
    expect(byName[1]).toMatchObject({
      isAuditLog: true,
      eventName: 'CatalogEntityFetchByName',
      status: 'succeeded',
      actor: { actorId: 'user:development/guest', client: 'node' },
      response: { status: 200 },
    });
    expect(byName[1].timestamp).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
    const dry = records.filter(r => r.auditId === auditIds.dryRun);
    expect(dry.map(r => r.meta?.isDryLog)).toEqual([true, true]);
  });

  it('recorded the requests that carried secrets, with the values redacted in place', () => {
    const done = (name: string) =>
      auditLines().find(
        r => r.auditId === auditIds[name] && r.stage === 'completion',
      );
    expect(done('queryToken').request.query.token).toBe('***');
    expect(done('queryToken').request.url).toContain('token=***');
    expect(done('accessToken').request.query.access_token).toBe('***');
    expect(done('refresh').request.body).toEqual({
      entityRef: 'component:default/payments-api',
      authorizationToken: '***',
    });
    expect(done('deep').request.body.extra).toEqual({
      a: { b: [{ password: '***' }] },
    });
    expect(done('dryRun').request.body.secrets).toEqual({ deployKey: '***' });
    expect(done('task').request.body.secrets).toEqual({ deployKey: '***' });
    expect(JSON.stringify(done('cookie'))).not.toMatch(/cookie|x-api-key/i);
  });

  it('keeps every planted secret out of all output, audit records and ordinary logs alike', () => {
    const all = stdout + stderr;
    expect(all).toContain('HTTP/1.1'); // the access log is there ...
    expect(all).toContain('token=***'); // ... with the query token redacted
    for (const [site, canary] of Object.entries(CANARIES)) {
      expect({ site, leaked: all.includes(canary) }).toEqual({
        site,
        leaked: false,
      });
    }
  });

  it('writes audit records only to stdout, each one a whole JSON line, and nothing else looks like one', () => {
    expect(stderr).not.toContain('isAuditLog');
    for (const line of stdout.split('\n')) {
      if (line.includes('isAuditLog')) {
        const parsed = JSON.parse(line);
        expect(parsed.isAuditLog).toBe(true);
        expect(parsed.schemaVersion).toBe('2');
      }
    }
  });
});
