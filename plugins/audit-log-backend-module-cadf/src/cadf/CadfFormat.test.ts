import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { CadfAuditMap } from '../auditMap/CadfAuditMap';
import { defaultCadfAuditMap } from '../auditMap/defaultCadfAuditMap';
import { backgroundRecord, httpPair } from '../__testUtils__/records';
import { CadfFormat } from './CadfFormat';
import { CadfEvent } from './types';

const UUID5 =
  /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const format = CadfFormat.create({ baseUrl: 'https://portal.example.com/' });
const render = (r: AuditRecord) => JSON.parse(format.render(r)) as CadfEvent;

const fetchByName = () =>
  httpPair({
    auditId: 'f203e4e7-ac87-48ee-8fe7-848b78a5f133',
    plugin: 'catalog',
    eventName: 'CatalogEntityFetchByName',
    method: 'GET',
    url: '/api/catalog/entities/by-name/component/default/payments-api?token=***',
    query: { token: '***' },
    params: { kind: 'component', namespace: 'default', name: 'payments-api' },
    status: 200,
    meta: { entityRef: 'component:default/payments-api' },
  });

describe('CadfFormat', () => {
  it("renders a request's two records as keystonemiddleware's request and response events", () => {
    const [init, done] = fetchByName();
    init.timestamp = '2026-11-24T03:16:52.055Z';
    done.timestamp = '2026-11-24T03:16:52.061Z';
    const request = render(init);
    const response = render(done);
    expect(request).toEqual({
      typeURI: 'http://schemas.dmtf.org/cloud/audit/1.0/event',
      eventType: 'activity',
      id: expect.stringMatching(UUID5),
      eventTime: '2026-11-24T03:16:52.055000+0000',
      action: 'read',
      outcome: 'pending',
      name: 'CatalogEntityFetchByName',
      observer: { id: 'target' },
      initiator: {
        typeURI: 'service/security/account/user',
        id: expect.stringMatching(UUID5),
        name: 'user:development/guest',
        host: { address: '::ffff:127.0.0.1', agent: 'curl/7.88.1' },
        credential: {
          token: 'sha256:3f1c2a9b7d4e5f60',
          identity_status: 'Confirmed',
        },
        project_id: 'unknown',
        request_id: 'f203e4e7-ac87-48ee-8fe7-848b78a5f133',
      },
      target: {
        typeURI: 'service/catalog/entity',
        id: expect.stringMatching(UUID5),
        name: 'catalog',
        addresses: [
          { url: 'https://portal.example.com/api/catalog', name: 'public' },
        ],
      },
      requestPath:
        '/api/catalog/entities/by-name/component/default/payments-api?token=***',
      tags: ['correlation_id?value=f203e4e7-ac87-48ee-8fe7-848b78a5f133'],
      attachments: [
        { typeURI: 'xs:string', content: 'catalog', name: 'plugin' },
        {
          typeURI: 'mime:application/json',
          content: { entityRef: 'component:default/payments-api' },
          name: 'meta',
        },
      ],
    });
    expect(response).toEqual({
      ...request,
      eventTime: '2026-11-24T03:16:52.061000+0000',
      outcome: 'success',
      reason: { reasonType: 'HTTP', reasonCode: '200' },
      reporterchain: [
        {
          role: 'modifier',
          reporter: { id: 'target' },
          reporterTime: '2026-11-24T03:16:52.061000+0000',
        },
      ],
    });
    expect(response.id).toBe(request.id);
  });

  it('gives the same ids to the same record rendered twice, and other ids to other users and plugins', () => {
    const [init] = fetchByName();
    expect(render(init)).toEqual(render(init));
    const other = {
      ...init,
      plugin: 'scaffolder',
      actor: { ...init.actor, actorId: 'user:default/bob' },
    };
    expect(render(other).initiator.id).not.toBe(render(init).initiator.id);
    expect(render(other).target.id).not.toBe(render(init).target.id);
  });

  it('gives two requests that reuse one Audit-ID different event ids', () => {
    const [a] = fetchByName();
    const b = {
      ...a,
      request: {
        ...a.request!,
        url: '/api/catalog/entities/by-name/component/default/other',
      },
    };
    expect(render(a).id).not.toBe(render(b).id);
    expect(render(b).tags).toEqual(render(a).tags);
  });

  it.each([
    [404, undefined, 'failure', '404'],
    [403, [{ name: 'NotAllowedError', message: 'denied' }], 'failure', '403'],
    [
      503,
      [{ name: 'ServiceUnavailableError', message: 'x' }],
      'failure',
      '503',
    ],
    [500, [{ name: 'TypeError', message: 'boom' }], 'unknown', '500'],
    [302, undefined, 'success', '302'],
  ] as const)(
    'renders status %s with errors %j as outcome %s',
    (status, errors, outcome, code) => {
      const [, done] = httpPair({
        auditId: 'a0000000-0000-4000-8000-000000000001',
        plugin: 'catalog',
        eventName: 'CatalogEntityDeletion',
        method: 'DELETE',
        url: '/api/catalog/entities/by-uid/u1',
        status,
        errors: errors ? [...errors] : undefined,
      });
      const event = render(done);
      expect(event.outcome).toBe(outcome);
      expect(event.reason).toEqual({ reasonType: 'HTTP', reasonCode: code });
      expect(event.action).toBe('delete');
    },
  );

  it('renders a plugin-reported failure without a response (an auditor event) as failure without reason', () => {
    const [, done] = httpPair({
      auditId: 'a0000000-0000-4000-8000-000000000002',
      plugin: 'kubernetes',
      eventName: 'kubernetes.cluster-read',
      method: 'GET',
      url: '/api/kubernetes/clusters',
      status: 500,
      errors: [{ name: 'Error', message: 'cluster unreachable' }],
    });
    delete done.response;
    const event = render(done);
    expect(event.outcome).toBe('failure');
    expect(event.reason).toBeUndefined();
    expect(event.action).toBe('read');
    expect(event.target.typeURI).toBe('service/kubernetes');
  });

  it('says Invalid, with the fingerprint, when a token was presented but no actor resolved; Invalid with no token at all', () => {
    const [, badToken] = httpPair({
      auditId: 'a0000000-0000-4000-8000-000000000003',
      plugin: 'catalog',
      eventName: 'CatalogEntityFetch',
      method: 'GET',
      url: '/api/catalog/entities',
      status: 401,
      actor: {
        actorId: null,
        ip: '10.0.0.9',
        tokenFingerprint: 'sha256:00ff00ff00ff00ff',
      },
    });
    expect(render(badToken).initiator).toEqual({
      typeURI: 'service/security/account/user',
      id: 'unknown',
      name: 'unknown',
      host: { address: '10.0.0.9' },
      credential: {
        token: 'sha256:00ff00ff00ff00ff',
        identity_status: 'Invalid',
      },
      project_id: 'unknown',
      request_id: 'a0000000-0000-4000-8000-000000000003',
    });
    const noToken = { ...badToken, actor: { actorId: null, ip: '10.0.0.9' } };
    expect(render(noToken).initiator.credential).toEqual({
      token: '',
      identity_status: 'Invalid',
    });
  });

  it('puts the portal-only facts into attachments: meta (dry runs included), errors, a client that closed early', () => {
    const [, done] = httpPair({
      auditId: 'a0000000-0000-4000-8000-000000000004',
      plugin: 'scaffolder',
      eventName: 'ScaffolderTaskStream',
      method: 'GET',
      url: '/api/scaffolder/v2/tasks/t1/eventstream',
      status: 200,
      meta: { taskId: 't1', isDryLog: true },
      errors: [{ name: 'ClientClosedRequest', message: 'closed' }],
      clientClosed: true,
    });
    const event = render(done);
    expect(event.attachments).toEqual([
      { typeURI: 'xs:string', content: 'scaffolder', name: 'plugin' },
      {
        typeURI: 'mime:application/json',
        content: { taskId: 't1', isDryLog: true },
        name: 'meta',
      },
      {
        typeURI: 'mime:application/json',
        content: [{ name: 'ClientClosedRequest', message: 'closed' }],
        name: 'errors',
      },
      { typeURI: 'xs:boolean', content: true, name: 'clientClosed' },
    ]);
    expect(event.action).toBe('monitor');
    expect(Object.keys(event)).not.toContain('meta');
  });

  it('renders records without a request: no host, credential, requestPath or reason', () => {
    const start = backgroundRecord({
      auditId: '6a3d9a40-1c53-4c8e-9b1f-0f6f41b9e001',
      plugin: 'scaffolder',
      eventName: 'ScaffolderTaskExecution',
      stage: 'initiation',
      status: 'succeeded',
      actorId: 'user:default/alice',
      meta: { taskId: 't-1', templateRef: 'template:default/hello-audit' },
    });
    const end = {
      ...start,
      stage: 'completion' as const,
      status: 'failed' as const,
      meta: { ...start.meta, outcome: 'cancelled' },
      errors: [{ name: 'TaskCancelled', message: 'The task was cancelled' }],
    };
    const a = render(start);
    const b = render(end);
    expect(a).toMatchObject({
      action: 'start',
      outcome: 'pending',
      name: 'ScaffolderTaskExecution',
    });
    expect(a.initiator).toEqual({
      typeURI: 'service/security/account/user',
      id: expect.stringMatching(UUID5),
      name: 'user:default/alice',
      project_id: 'unknown',
    });
    expect(a.target.typeURI).toBe('service/scaffolder/task');
    for (const key of ['requestPath', 'reason', 'reporterchain']) {
      expect(a).not.toHaveProperty(key);
    }
    expect(b.outcome).toBe('failure');
    expect(b.id).toBe(a.id);
    expect(b).not.toHaveProperty('reason');
    expect(b.reporterchain).toHaveLength(1);
  });

  it('takes target ids, names and addresses from config', () => {
    const f = CadfFormat.create({
      services: {
        catalog: {
          id: 'bb5e3b4e-1e5b-4a7e-9f0e-3c2a1b0c9d8e',
          name: 'backstage-catalog',
          addresses: [{ url: 'https://internal/api/catalog', name: 'private' }],
        },
      },
    });
    const [init] = fetchByName();
    expect(f.toEvent(init).target).toEqual({
      typeURI: 'service/catalog/entity',
      id: 'bb5e3b4e-1e5b-4a7e-9f0e-3c2a1b0c9d8e',
      name: 'backstage-catalog',
      addresses: [{ url: 'https://internal/api/catalog', name: 'private' }],
    });
    // No base URL and no addresses configured: none invented.
    const [other] = httpPair({
      auditId: 'a1',
      plugin: 'scaffolder',
      eventName: 'ScaffolderTaskFetch',
      method: 'GET',
      url: '/api/scaffolder/v2/tasks/1',
      status: 200,
    });
    expect(f.toEvent(other).target).not.toHaveProperty('addresses');
  });

  it('uses the audit map it is given', () => {
    const f = CadfFormat.create({
      auditMap: CadfAuditMap.create({
        events: {
          CatalogEntityFetchByName: {
            action: 'read/by-name',
            targetType: 'data/catalog',
          },
        },
      }),
    });
    const [init] = fetchByName();
    expect(f.toEvent(init)).toMatchObject({
      action: 'read/by-name',
      target: { typeURI: 'data/catalog' },
    });
  });

  it('adds nothing the record does not hold: every string is a constant, a derived id or time, or a value of the record', () => {
    const CANARY = 'canary-not-in-cadf-5b1e';
    const records: AuditRecord[] = [];
    for (const [i, eventName] of Object.keys(defaultCadfAuditMap).entries()) {
      const [init, done] = httpPair({
        auditId: `c0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        plugin: eventName.startsWith('Scaffolder') ? 'scaffolder' : 'catalog',
        eventName,
        method: 'POST',
        url: `/api/x/${i}?token=***&page=2`,
        query: { page: '2', note: CANARY },
        body: { secrets: { key: '***' }, note: CANARY },
        status: 201,
        meta: { entityRef: `component:default/e${i}`, n: i },
      });
      done.message = CANARY;
      done.response = { status: 201, body: { echo: CANARY } };
      records.push(init, done);
    }
    records.push(
      backgroundRecord({
        auditId: 'x',
        plugin: 'audit-log',
        eventName: 'AuditLogStopped',
        stage: 'completion',
        status: 'succeeded',
        actorId: 'plugin:audit-log',
        meta: { plugins: ['catalog'] },
      }),
    );
    const constants = new Set([
      'http://schemas.dmtf.org/cloud/audit/1.0/event',
      'activity',
      'target',
      'modifier',
      'HTTP',
      'unknown',
      'pending',
      'success',
      'failure',
      'Confirmed',
      'Invalid',
      'service/security/account/user',
      'xs:string',
      'xs:boolean',
      'mime:application/json',
      'plugin',
      'meta',
      'errors',
      'clientClosed',
      'public',
      'https://portal.example.com/api/catalog',
      'https://portal.example.com/api/scaffolder',
      'https://portal.example.com/api/audit-log',
      ...Object.values(defaultCadfAuditMap)
        .flatMap(m => [m.action, m.targetType])
        .filter((v): v is string => !!v),
    ]);
    for (const record of records) {
      const text = format.render(record);
      expect(text).not.toContain(CANARY);
      const source = JSON.stringify(record);
      const strings: string[] = [];
      const walk = (v: unknown) => {
        if (typeof v === 'string') strings.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(JSON.parse(text));
      const unexplained = strings.filter(
        s =>
          !constants.has(s) &&
          s !== `service/${record.plugin}` &&
          !UUID5.test(s) &&
          !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$/.test(s) &&
          !(
            s.startsWith('correlation_id?value=') &&
            source.includes(JSON.stringify(s.slice(21)))
          ) &&
          !(/^\d{3}$/.test(s) && record.response?.status === Number(s)) &&
          !source.includes(JSON.stringify(s)),
      );
      expect(unexplained).toEqual([]);
    }
  });

  it('fails loudly on a record whose timestamp is not a time', () => {
    const [init] = fetchByName();
    expect(() => format.render({ ...init, timestamp: 'yesterday' })).toThrow(
      "Not a timestamp: 'yesterday'",
    );
  });
});
