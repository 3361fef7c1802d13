import { catalogAuditRoutes } from '@backstage-audit/plugin-catalog-backend-module-audit-log';
import {
  scaffolderAuditRoutes,
  ScaffolderLifecycleEvents,
} from '@backstage-audit/plugin-scaffolder-backend-module-audit-log';
import { isCadfAction, isCadfResourceType } from '../cadf/taxonomy';
import { backgroundRecord, httpPair } from '../__testUtils__/records';
import { CadfAuditMap } from './CadfAuditMap';
import { defaultCadfAuditMap } from './defaultCadfAuditMap';
import { OpenStackAuditMap } from './OpenStackAuditMap';

const AUDIT_LOG_EVENTS = [
  'AuditLogQuery',
  'AuditLogRecordFetch',
  'AuditLogStarted',
  'AuditLogStopped',
  'HttpRequest',
];

describe('the built-in audit map', () => {
  it('has one row per event of the catalog, the scaffolder and the audit log, and no other', () => {
    const events = new Set([
      ...catalogAuditRoutes.routes.map(r => r.eventName),
      ...scaffolderAuditRoutes.routes.map(r => r.eventName),
      ...Object.values(ScaffolderLifecycleEvents),
      ...AUDIT_LOG_EVENTS,
    ]);
    expect(new Set(Object.keys(defaultCadfAuditMap))).toEqual(events);
  });

  it('gives every row but HttpRequest a CADF action and resource typeURI', () => {
    const rows = Object.entries(defaultCadfAuditMap);
    expect(rows.filter(([event]) => event === 'HttpRequest')).toEqual([
      ['HttpRequest', {}],
    ]);
    for (const [event, row] of rows.filter(([e]) => e !== 'HttpRequest')) {
      expect([event, isCadfAction(row.action!)]).toEqual([event, true]);
      expect([event, isCadfResourceType(row.targetType!)]).toEqual([
        event,
        true,
      ]);
    }
  });
});

describe('CadfAuditMap', () => {
  const [byNameInit] = httpPair({
    auditId: '0d6f0c8e-5f34-4c71-9a0c-5d1f1f6f2a01',
    plugin: 'catalog',
    eventName: 'CatalogEntityFetchByName',
    method: 'GET',
    url: '/api/catalog/entities/by-name/component/default/x?token=***',
    status: 200,
  });
  const [unmatched] = httpPair({
    auditId: '0d6f0c8e-5f34-4c71-9a0c-5d1f1f6f2a02',
    plugin: 'catalog',
    eventName: 'HttpRequest',
    method: 'DELETE',
    url: '/api/catalog/nothing-here',
    status: 404,
  });
  const openStack = OpenStackAuditMap.parse(
    [
      '[path_keywords]',
      'entities = entity',
      'by-name = kind',
      '[custom_actions]',
      'nothing-here/delete = disable',
      '[service_endpoints]',
      'catalog = service/portal/catalog',
    ].join('\n'),
  );

  it('uses the built-in row by default', () => {
    expect(CadfAuditMap.create().resolve(byNameInit)).toEqual({
      action: 'read',
      targetType: 'service/catalog/entity',
    });
  });

  it('derives an unmatched request from its method and plugin', () => {
    expect(CadfAuditMap.create().resolve(unmatched)).toEqual({
      action: 'delete',
      targetType: 'service/catalog',
    });
    const post = {
      ...unmatched,
      request: { ...unmatched.request!, method: 'POST' },
    };
    expect(CadfAuditMap.create().resolve(post).action).toBe('create');
  });

  it('gives an unknown event without a request `unknown` and the plugin', () => {
    const record = backgroundRecord({
      auditId: '0d6f0c8e-5f34-4c71-9a0c-5d1f1f6f2a03',
      plugin: 'kubernetes',
      eventName: 'kubernetes.cluster-read',
      stage: 'completion',
      status: 'succeeded',
      actorId: null,
    });
    expect(CadfAuditMap.create().resolve(record)).toEqual({
      action: 'unknown',
      targetType: 'service/kubernetes',
    });
  });

  it('lets a map file decide for HTTP records, as keystonemiddleware would', () => {
    const map = CadfAuditMap.create({ openStack });
    // GET on a non-keyword ending is `read`; the type is the service's plus the path's keywords.
    expect(map.resolve(byNameInit)).toEqual({
      action: 'read',
      targetType: 'service/portal/catalog/entities/by-name/kind',
    });
    expect(map.resolve(unmatched)).toEqual({
      action: 'disable',
      targetType: 'service/portal/catalog',
    });
  });

  it('keeps the built-in target type when the map file names no service for the plugin', () => {
    const map = CadfAuditMap.create({
      openStack: OpenStackAuditMap.parse(
        '[path_keywords]\nentities = entity\n',
      ),
    });
    expect(map.resolve(byNameInit)).toEqual({
      action: 'read',
      targetType: 'service/catalog/entity',
    });
  });

  it('leaves records without a request to the built-in map, map file or not', () => {
    const record = backgroundRecord({
      auditId: '0d6f0c8e-5f34-4c71-9a0c-5d1f1f6f2a04',
      plugin: 'scaffolder',
      eventName: 'ScaffolderTaskStepSkip',
      stage: 'completion',
      status: 'succeeded',
      actorId: 'user:default/alice',
    });
    expect(CadfAuditMap.create({ openStack }).resolve(record)).toEqual({
      action: 'start/skip',
      targetType: 'service/scaffolder/task/step',
    });
  });

  it('lets app-config overrides win over the map file and the built-in map, field by field', () => {
    const map = CadfAuditMap.create({
      openStack,
      events: {
        CatalogEntityFetchByName: { action: 'read/by-name' },
        HttpRequest: { targetType: 'service/catalog/other' },
      },
    });
    expect(map.resolve(byNameInit)).toEqual({
      action: 'read/by-name',
      targetType: 'service/portal/catalog/entities/by-name/kind',
    });
    expect(map.resolve(unmatched)).toEqual({
      action: 'disable',
      targetType: 'service/catalog/other',
    });
  });
});
