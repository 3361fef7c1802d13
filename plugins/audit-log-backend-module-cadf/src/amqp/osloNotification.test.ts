import { backgroundRecord, httpPair } from '../__testUtils__/records';
import { CadfFormat } from '../cadf/CadfFormat';
import {
  osloEventType,
  osloMessageId,
  osloNotificationBody,
} from './osloNotification';

const format = CadfFormat.create();
const [init, done] = httpPair({
  auditId: '0b1c2d3e-0000-4000-8000-000000000001',
  plugin: 'catalog',
  eventName: 'CatalogEntityFetchByName',
  method: 'GET',
  url: '/api/catalog/entities/by-name/component/default/x',
  status: 200,
});
init.timestamp = '2026-11-24T03:16:52.055Z';
const entry = { record: init, line: format.render(init) };

describe('osloNotificationBody', () => {
  it("is the messagingv2 2.0 envelope around oslo's message, with the line as payload", () => {
    const { body, messageId } = osloNotificationBody(entry, {
      sink: 'openstack',
      publisherId: 'portal.host1',
      priority: 'info',
    });
    const envelope = JSON.parse(body.toString('utf8'));
    expect(Object.keys(envelope)).toEqual(['oslo.version', 'oslo.message']);
    expect(envelope['oslo.version']).toBe('2.0');
    expect(typeof envelope['oslo.message']).toBe('string');
    const message = JSON.parse(envelope['oslo.message']);
    expect(message).toEqual({
      message_id: messageId,
      publisher_id: 'portal.host1',
      event_type: 'audit.http.request',
      priority: 'INFO',
      payload: JSON.parse(entry.line),
      timestamp: '2026-11-24 03:16:52.055000',
      _unique_id: messageId.replace(/-/g, ''),
    });
    expect(messageId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('gives a redelivered entry the same message id, and records that differ different ones', () => {
    const id = (e: typeof entry) => osloMessageId(e, 'openstack');
    expect(id({ ...entry })).toBe(id(entry));
    const later = { ...init, timestamp: '2026-11-24T03:16:52.056Z' };
    expect(id({ record: later, line: format.render(later) })).not.toBe(
      id(entry),
    );
    expect(id({ record: done, line: format.render(done) })).not.toBe(id(entry));
  });

  it('gives the same record different ids in two sinks (an oslo listener would drop one as a copy of the other)', () => {
    expect(osloMessageId(entry, 'openstack')).not.toBe(
      osloMessageId(entry, 'openstack-audit'),
    );
  });

  it('escapes publisher ids that need it', () => {
    const { body } = osloNotificationBody(entry, {
      sink: 'openstack',
      publisherId: 'a"b\\c\n',
      priority: 'warn',
    });
    const message = JSON.parse(JSON.parse(body.toString())['oslo.message']);
    expect(message.publisher_id).toBe('a"b\\c\n');
    expect(message.priority).toBe('WARN');
  });
});

describe('osloEventType', () => {
  it("is keystonemiddleware's for HTTP records and .start/.end for the others", () => {
    expect(osloEventType(init)).toBe('audit.http.request');
    expect(osloEventType(done)).toBe('audit.http.response');
    const task = backgroundRecord({
      auditId: 't',
      plugin: 'scaffolder',
      eventName: 'ScaffolderTaskExecution',
      stage: 'initiation',
      status: 'succeeded',
      actorId: null,
    });
    expect(osloEventType(task)).toBe('audit.scaffolder.start');
    expect(osloEventType({ ...task, stage: 'completion' })).toBe(
      'audit.scaffolder.end',
    );
  });
});
