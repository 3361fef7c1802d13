import {
  AuditEventInput,
  AuditRecordBuilder,
  Redactor,
} from '@backstage-audit/plugin-audit-log-node';
import { createBackstageAuditorFormat } from './backstageAuditorFormat';
import { backstageAuditorEvents } from './backstageAuditorEvents';
import { rhdhFormat } from './rhdhFormat';
import { sortedJson } from './sortedJson';

const CANARY = 'canary-bsaudit-5e1f07';

/** Records are built by the real builder and redactor, as the pipeline builds them. */
const builder = AuditRecordBuilder.create({ redactor: Redactor.create() });
const stackBuilder = AuditRecordBuilder.create({
  redactor: Redactor.create(),
  includeErrorStack: true,
});
const format = createBackstageAuditorFormat();

const alice = {
  actorId: 'user:default/alice',
  ip: '203.0.113.7',
  hostname: '203.0.113.7',
  client: 'curl/8.5.0',
};

function event(overrides: Partial<AuditEventInput>): AuditEventInput {
  return {
    plugin: 'catalog',
    eventName: 'CatalogEntityFetchByName',
    stage: 'completion',
    status: 'succeeded',
    auditId: 'a1b2',
    actor: alice,
    meta: { entityRef: 'component:default/payments-api' },
    request: {
      method: 'GET',
      url: '/api/catalog/entities/by-name/component/default/payments-api',
      query: {},
      params: {},
    },
    response: { status: 200 },
    ...overrides,
  };
}

function render(input: AuditEventInput, b = builder) {
  const record = b.build(input);
  const line = format.render(record)!;
  return { record, line, out: JSON.parse(line) as Record<string, any> };
}

describe('backstage-auditor format', () => {
  it('renders a by-name fetch as upstream prints entity-fetch (by-name)', () => {
    const { record, out, line } = render(event({}));
    expect(format.id).toBe('backstage-auditor');
    expect(out).toEqual({
      actor: {
        actorId: 'user:default/alice',
        hostname: '203.0.113.7',
        ip: '203.0.113.7',
        userAgent: 'curl/8.5.0',
      },
      auditId: 'a1b2',
      eventId: 'entity-fetch',
      isAuditEvent: true,
      level: 'info',
      message: 'catalog.entity-fetch',
      meta: {
        entityRef: 'component:default/payments-api',
        queryType: 'by-name',
      },
      plugin: 'catalog',
      request: {
        method: 'GET',
        url: '/api/catalog/entities/by-name/component/default/payments-api',
      },
      response: { status: 200 },
      service: 'backstage',
      severityLevel: 'low',
      status: 'succeeded',
      timestamp: record.timestamp,
    });
    expect(out.timestamp).toMatch(/Z$/);
    // Keys in winston json()'s order (sorted), at every level.
    expect(Object.keys(out)).toEqual(Object.keys(out).sort());
    expect(Object.keys(out.actor)).toEqual(Object.keys(out.actor).sort());
    expect(line).not.toContain('\n');
    // Neither our own field names nor the request's detail.
    for (const field of [
      'isAuditLog',
      'eventName',
      'stage',
      'schemaVersion',
      'query',
      'params',
      'body',
      'client',
    ]) {
      expect(line).not.toContain(`"${field}"`);
    }
  });

  it('maps stages to initiated / succeeded / failed, and a failure as upstream logs its error', () => {
    expect(render(event({ stage: 'initiation' })).out.status).toBe('initiated');
    const failed = render(
      event({
        status: 'failed',
        response: { status: 404 },
        errors: [
          { name: 'NotFoundError', message: "No entity named 'nope' found" },
        ],
      }),
    ).out;
    expect(failed).toMatchObject({
      status: 'failed',
      name: 'NotFoundError',
      message: "catalog.entity-fetch No entity named 'nope' found",
      response: { status: 404 },
      errors: [
        { name: 'NotFoundError', message: "No entity named 'nope' found" },
      ],
    });
    expect(failed).not.toHaveProperty('stack');

    // An error without a message leaves the message alone (winston appends only a non-empty one).
    const denied = render(
      event({
        plugin: 'scaffolder',
        eventName: 'ScaffolderTaskCreation',
        status: 'failed',
        meta: { templateRef: 'template:default/x' },
        errors: [{ name: 'NotAllowedError', message: '' }],
      }),
    ).out;
    expect(denied.message).toBe('scaffolder.task');
    expect(denied.name).toBe('NotAllowedError');

    // The stack only when the record has one (auditLog.errors.includeStack).
    const withStack = render(
      event({ status: 'failed', errors: [new Error('boom')] }),
      stackBuilder,
    ).out;
    expect(withStack.stack).toContain('Error: boom');
    expect(withStack.message).toBe('catalog.entity-fetch boom');
  });

  it('puts no error fields on a succeeded record', () => {
    const ok = render(
      event({ errors: [{ name: 'AuditMetaError', message: 'extractor bug' }] }),
    ).out;
    expect(ok.message).toBe('catalog.entity-fetch');
    expect(ok).not.toHaveProperty('name');
    // Ours is kept, so nothing the record says is lost.
    expect(ok.errors).toEqual([
      { name: 'AuditMetaError', message: 'extractor bug' },
    ]);
  });

  it('names a dry run isDryRun, lowers its severity where upstream does, and flags real creations false', () => {
    const location = {
      type: 'url',
      target: 'https://example.com/catalog.yaml',
    };
    const dry = render(
      event({
        eventName: 'CatalogLocationCreation',
        meta: { location, isDryLog: true },
        request: { method: 'POST', url: '/api/catalog/locations?dryRun=true' },
      }),
    ).out;
    expect(dry).toMatchObject({
      eventId: 'location-mutate',
      severityLevel: 'low',
    });
    expect(dry.meta).toEqual({
      actionType: 'create',
      isDryRun: true,
      location,
    });

    const real = render(
      event({
        eventName: 'CatalogLocationCreation',
        meta: { location },
        request: { method: 'POST', url: '/api/catalog/locations' },
      }),
    ).out;
    expect(real.severityLevel).toBe('medium');
    expect(real.meta).toEqual({
      actionType: 'create',
      isDryRun: false,
      location,
    });

    // Events upstream never flags get the flag only on a dry run.
    const dryStep = render(
      event({
        plugin: 'scaffolder',
        eventName: 'ScaffolderTaskStepExecution',
        meta: { taskId: 't1', stepId: 'fetch', isDryLog: true },
        request: undefined,
        response: undefined,
      }),
    ).out;
    expect(dryStep).toMatchObject({
      eventId: 'task-step',
      severityLevel: 'low',
    });
    expect(dryStep.meta).toEqual({
      actionType: 'execution',
      isDryRun: true,
      stepId: 'fetch',
      taskId: 't1',
    });
    const realStep = render(
      event({
        plugin: 'scaffolder',
        eventName: 'ScaffolderTaskStepExecution',
        meta: { taskId: 't1', stepId: 'fetch' },
        request: undefined,
        response: undefined,
      }),
    ).out;
    expect(realStep.severityLevel).toBe('medium');
    expect(realStep.meta).not.toHaveProperty('isDryRun');
  });

  it("renames our meta keys to upstream's for the same value", () => {
    const queried = render(
      event({
        eventName: 'QueriedCatalogEntityFetch',
        meta: { totalEntities: 3, pageInfo: { nextCursor: 'abc' } },
      }),
    ).out;
    expect(queried.meta).toEqual({
      queryType: 'by-query',
      totalItems: 3,
      pageInfo: { nextCursor: 'abc' },
    });

    const execution = render(
      event({
        plugin: 'scaffolder',
        eventName: 'ScaffolderTaskExecution',
        actor: { actorId: 'user:default/alice' },
        meta: {
          taskId: 't1',
          templateRef: 'template:default/hello',
          createdBy: 'user:default/alice',
          parameters: { name: 'World' },
        },
        request: undefined,
        response: undefined,
      }),
    ).out;
    expect(execution).toMatchObject({
      eventId: 'task',
      severityLevel: 'medium',
      actor: { actorId: 'user:default/alice' },
    });
    expect(execution.meta).toEqual({
      actionType: 'execution',
      createdBy: 'user:default/alice',
      taskId: 't1',
      taskParameters: { name: 'World' },
      templateRef: 'template:default/hello',
    });
    expect(execution).not.toHaveProperty('request');
  });

  it('copies the redacted query into meta.query where upstream logs the query (GET /entities)', () => {
    const out = render(
      event({
        eventName: 'CatalogEntityFetch',
        meta: undefined,
        request: {
          method: 'GET',
          url: `/api/catalog/entities?filter=kind=component&token=${CANARY}`,
          query: { filter: 'kind=component', token: CANARY },
        },
      }),
    );
    expect(out.out.meta).toEqual({
      queryType: 'all',
      query: { filter: 'kind=component', token: '***' },
    });
    expect(out.out.request.url).toBe(
      '/api/catalog/entities?filter=kind=component&token=***',
    );
    expect(out.line).not.toContain(CANARY);
  });

  it('only rearranges the redacted record: a body or query canary never appears, a meta canary stays redacted', () => {
    const input = event({
      eventName: 'CatalogEntityRefresh',
      request: {
        method: 'POST',
        url: `/api/catalog/refresh?access_token=${CANARY}-q`,
        query: { access_token: `${CANARY}-q` },
        params: {},
        // An ordinary key: redaction keeps it, so it is in our record.
        body: { entityRef: 'component:default/x', note: `${CANARY}-body` },
      },
      meta: { entityRef: 'component:default/x', apiKey: `${CANARY}-meta` },
    });
    const { record, line, out } = render(input);
    // The canary reached the record (the rhdh line carries the body)...
    expect(rhdhFormat.render(record)).toContain(`${CANARY}-body`);
    // ...and this format, with no body in its shape, never prints it.
    expect(line).not.toContain(CANARY);
    expect(out.meta).toEqual({
      queryType: 'refresh',
      entityRef: 'component:default/x',
      apiKey: '***',
    });
    expect(out.request.url).toBe('/api/catalog/refresh?access_token=***');
  });

  it('maps records of upstream events (<pluginId>.<eventId>) back to their own plugin and eventId', () => {
    const execution = render(
      event({
        plugin: 'scaffolder',
        eventName: 'scaffolder.task',
        actor: { actorId: 'plugin:scaffolder' },
        meta: { actionType: 'execution', taskId: 't1' },
        request: undefined,
        response: undefined,
      }),
    ).out;
    expect(execution).toMatchObject({
      plugin: 'scaffolder',
      eventId: 'task',
      severityLevel: 'medium',
      message: 'scaffolder.task',
      meta: { actionType: 'execution', taskId: 't1' },
    });

    const byName = render(
      event({
        eventName: 'catalog.entity-fetch',
        meta: { queryType: 'by-name', entityRef: 'component:default/x' },
      }),
    ).out;
    expect(byName).toMatchObject({
      eventId: 'entity-fetch',
      severityLevel: 'low',
    });
    expect(byName.meta).toEqual({
      queryType: 'by-name',
      entityRef: 'component:default/x',
    });

    const dryCreate = render(
      event({
        eventName: 'catalog.location-mutate',
        meta: { actionType: 'create', isDryRun: true },
      }),
    ).out;
    expect(dryCreate.severityLevel).toBe('low');
    const facets = render(
      event({ eventName: 'catalog.entity-facets', meta: undefined }),
    ).out;
    expect(facets).toMatchObject({
      eventId: 'entity-facets',
      severityLevel: 'low',
    });
    expect(facets).not.toHaveProperty('meta');

    // An upstream event we know nothing about: its own id, medium (never hidden as low).
    const rbac = render(
      event({
        plugin: 'permission',
        eventName: 'permission.policy-write',
        meta: { actionType: 'create' },
        request: { method: 'POST', url: '/api/permission/policies' },
      }),
    ).out;
    expect(rbac).toMatchObject({
      plugin: 'permission',
      eventId: 'policy-write',
      severityLevel: 'medium',
      message: 'permission.policy-write',
      meta: { actionType: 'create' },
    });
  });

  it('falls back sensibly for events outside the table', () => {
    const get = render(
      event({ plugin: 'demo', eventName: 'DemoThrow', meta: undefined }),
    ).out;
    expect(get).toMatchObject({
      plugin: 'demo',
      eventId: 'demo-throw',
      severityLevel: 'low',
      message: 'demo.demo-throw',
    });
    const post = render(
      event({
        plugin: 'demo',
        eventName: 'HTTPBatchUpload',
        meta: { isDryLog: true },
        request: { method: 'POST', url: '/api/demo/x' },
      }),
    ).out;
    expect(post).toMatchObject({
      eventId: 'http-batch-upload',
      severityLevel: 'medium',
      meta: { isDryRun: true },
    });
    const background = render(
      event({
        plugin: 'demo',
        eventName: 'nightly_job',
        request: undefined,
        meta: undefined,
      }),
    ).out;
    expect(background).toMatchObject({
      eventId: 'nightly-job',
      severityLevel: 'medium',
    });
    // A request no table names: http-request, severity by method.
    const unmapped = render(
      event({
        plugin: 'catalog',
        eventName: 'HttpRequest',
        meta: undefined,
        request: { method: 'DELETE', url: '/api/catalog/unknown' },
      }),
    ).out;
    expect(unmapped).toMatchObject({
      plugin: 'catalog',
      eventId: 'http-request',
      severityLevel: 'medium',
    });
    // Names that only look like our table's keys (prototype members) are not rows.
    expect(render(event({ eventName: 'constructor' })).out.eventId).toBe(
      'constructor',
    );
  });

  it("maps the audit log's own events", () => {
    const started = render(
      event({
        plugin: 'audit-log',
        eventName: 'AuditLogStarted',
        actor: { actorId: 'plugin:audit-log' },
        meta: { plugins: ['catalog'], sinks: ['stdout'] },
        request: undefined,
        response: undefined,
      }),
    ).out;
    expect(started).toMatchObject({
      plugin: 'audit-log',
      eventId: 'audit-log-lifecycle',
      severityLevel: 'high',
      status: 'succeeded',
      meta: { actionType: 'start', plugins: ['catalog'], sinks: ['stdout'] },
    });
    const query = render(
      event({
        plugin: 'audit-log',
        eventName: 'AuditLogQuery',
        meta: undefined,
        request: { method: 'GET', url: '/api/audit-log/events?limit=5' },
      }),
    ).out;
    expect(query).toMatchObject({
      eventId: 'audit-event-fetch',
      severityLevel: 'medium',
      meta: { queryType: 'by-query' },
    });
  });

  it('leaves an unknown actor out, as upstream does, instead of writing null', () => {
    const out = render(event({ actor: { actorId: null, ip: '10.0.0.1' } })).out;
    expect(out.actor).toEqual({ ip: '10.0.0.1' });
  });

  it("adds the root logger's fields (backend.logger.meta) without letting them override the record", () => {
    const withMeta = createBackstageAuditorFormat({
      loggerMeta: { service: 'portal', cluster: 'eu-1', plugin: 'forged' },
    });
    const out = JSON.parse(withMeta.render(builder.build(event({})))!);
    expect(out).toMatchObject({
      service: 'portal',
      cluster: 'eu-1',
      plugin: 'catalog',
    });
  });

  it('cannot be split or forged by a key or value (one line, key intact)', () => {
    const forged = '"}\n{"isAuditEvent":true,"eventId":"forged"}';
    const { line, out } = render(
      event({
        meta: { [forged]: forged },
        actor: { ...alice, client: forged },
      }),
    );
    expect(line.split('\n')).toHaveLength(1);
    expect(out.eventId).toBe('entity-fetch');
    expect(out.meta[forged]).toBe(forged);
    expect(out.actor.userAgent).toBe(forged);
  });

  it('never throws on a malformed record', () => {
    const broken = { ...builder.build(event({})), actor: undefined } as never;
    const out = JSON.parse(format.render(broken)!);
    expect(out).toMatchObject({ isAuditEvent: true, plugin: 'catalog' });
    expect(out.message).toContain('could not be rendered');
  });

  it('has a well-formed table: kebab-case ids, upstream severities, known discriminators', () => {
    const severities = ['low', 'medium', 'high', 'critical'];
    for (const [name, row] of Object.entries(backstageAuditorEvents)) {
      expect([name, row.eventId]).toEqual([
        name,
        expect.stringMatching(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/),
      ]);
      const levels = [row.severityLevel, row.dryRunSeverityLevel];
      for (const s of levels.filter(l => l !== undefined)) {
        expect(severities).toContain(s);
      }
      expect(row.queryType && row.actionType).toBeFalsy();
    }
  });
});

describe('sortedJson', () => {
  it('sorts keys at every level and drops undefined as JSON.stringify does', () => {
    expect(
      sortedJson({
        b: 1,
        a: { d: [{ z: 1, y: undefined }, undefined], c: 'x' },
      }),
    ).toBe('{"a":{"c":"x","d":[{"z":1},null]},"b":1}');
    expect(sortedJson({ t: new Date(0), n: NaN })).toBe(
      '{"n":null,"t":"1970-01-01T00:00:00.000Z"}',
    );
  });

  it('ends a cycle with a marker instead of looping', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(sortedJson(a)).toContain('[Truncated: too deep]');
  });
});
