import { AuditRecordBuilder } from './AuditRecordBuilder';
import { REDACTED } from './record';
import { Redactor } from './redaction/Redactor';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import { assertValidRecords } from '../../../test/support/recordSchema';

const builder = AuditRecordBuilder.create({ redactor: Redactor.create() });
const TOKEN = 'tok-echo-8c1d2e';

describe('AuditRecordBuilder', () => {
  it('scrubs a value submitted under a credential key from every other string of the record', () => {
    // The catalog answers an unusable refresh token with an error quoting it.
    const record = builder.build({
      plugin: 'catalog',
      eventName: 'CatalogEntityRefresh',
      stage: 'completion',
      status: 'failed',
      actor: { actorId: 'user:default/a', client: `agent ${TOKEN}` },
      request: {
        method: 'POST',
        url: `/api/catalog/refresh?note=${TOKEN}`,
        query: { api_key: 'query-key-9f8e7d', note: 'query-key-9f8e7d' },
        body: { entityRef: 'component:default/x', authorizationToken: TOKEN },
      },
      response: { status: 401, body: { message: `bad ${TOKEN}` } },
      errors: [
        { name: 'AuthenticationError', message: `Unknown token '${TOKEN}'` },
      ],
      meta: { echoed: TOKEN },
    });
    assertValidRecords([record]);
    const json = JSON.stringify(record);
    expect(json).not.toContain(TOKEN);
    expect(json).not.toContain('query-key-9f8e7d');
    expect(record.errors).toEqual([
      { name: 'AuthenticationError', message: `Unknown token '${REDACTED}'` },
    ]);
    expect(record.request?.body).toEqual({
      entityRef: 'component:default/x',
      authorizationToken: REDACTED,
    });
    expect(record.request?.query).toEqual({
      api_key: REDACTED,
      note: REDACTED,
    });
  });

  it('does not scrub short values everywhere (a one-character password blanks nothing else)', () => {
    const record = builder.build({
      plugin: 'catalog',
      eventName: 'E',
      stage: 'completion',
      status: 'succeeded',
      actor: { actorId: null },
      request: {
        method: 'POST',
        url: '/x',
        body: { password: 'a', name: 'alpha' },
      },
    });
    expect(record.request?.body).toEqual({ password: REDACTED, name: 'alpha' });
  });

  it('keeps only a well-formed token fingerprint', () => {
    const build = (tokenFingerprint: string) =>
      builder.build({
        plugin: 'p',
        eventName: 'E',
        stage: 'initiation',
        status: 'succeeded',
        actor: { actorId: null, tokenFingerprint },
      }).actor.tokenFingerprint;
    expect(build('sha256:0123456789abcdef')).toBe('sha256:0123456789abcdef');
    expect(build('eyJhbGciOi.raw.token')).toBeUndefined();
  });
});
