import { REDACTED } from '../record';
import { redactCredentialValues } from './credentialValues';
import { Redactor } from './Redactor';

const CANARY = 'canary-7f3a9c';
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
// A JWT shaped as Backstage issues them: header.payload.signature.
const JWT = `${b64({ alg: 'ES256', kid: 'k1' })}.${b64({
  sub: 'user:default/alice',
  canary: CANARY,
})}.${Buffer.from(`signature-${CANARY}`).toString('base64url')}`;

describe('redactCredentialValues', () => {
  const cases: Array<[string, string, string]> = [
    ['a JWT anywhere', `session ${JWT} used`, `session ${REDACTED} used`],
    [
      'an unsigned JWT',
      'x eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. y',
      `x ${REDACTED} y`,
    ],
    ['a Bearer token', `Bearer ${CANARY}`, `Bearer ${REDACTED}`],
    [
      'a bearer token, any case',
      `auth: bearer ${CANARY}`,
      `auth: bearer ${REDACTED}`,
    ],
    ['Basic credentials', 'Basic dXNlcjpwYXNzd29yZA==', `Basic ${REDACTED}`],
    [
      'a PEM private key',
      `key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIB${CANARY}\n-----END RSA PRIVATE KEY-----\nrest`,
      `key:\n${REDACTED}\nrest`,
    ],
    [
      'a PEM private key cut short',
      `-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn${CANARY}`,
      REDACTED,
    ],
    [
      'a URL password',
      `postgres://app:${CANARY}@db:5432/x`,
      `postgres://app:${REDACTED}@db:5432/x`,
    ],
    [
      'a GitHub token',
      'token ghp_abcdefghijklmnopqrstuvwxyz0123456789 end',
      `token ${REDACTED} end`,
    ],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE', REDACTED],
    ['a Slack token', 'xoxb-123456789012-abcdefghij', REDACTED],
  ];

  it.each(cases)('redacts %s', (_name, input, expected) => {
    expect(redactCredentialValues(input)).toBe(expected);
  });

  it.each([
    'basic configuration',
    'https://github.com/backstage/backstage',
    'user@example.com',
    'component:default/payments-api',
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  ])('leaves %j as it is', input => {
    expect(redactCredentialValues(input)).toBe(input);
  });

  it('treats "bearer <word>" as a credential (a false positive we accept)', () => {
    expect(redactCredentialValues('a bearer of news')).toBe(
      `a bearer ${REDACTED} news`,
    );
  });
});

describe('Redactor.text', () => {
  const redactor = Redactor.create();

  it('redacts key=value pairs with a credential key anywhere in text', () => {
    expect(redactor.text(`login user=bob password=${CANARY} ok`)).toBe(
      `login user=bob password=${REDACTED} ok`,
    );
    expect(redactor.text(`sshKey=${CANARY}`)).toBe(`sshKey=${REDACTED}`);
    expect(redactor.text(`secret="a ${CANARY} b" next=1`)).toBe(
      `secret=${REDACTED} next=1`,
    );
    expect(redactor.text(`/x?a=1&access_token=${CANARY}#f`)).toBe(
      `/x?a=1&access_token=${REDACTED}#f`,
    );
  });

  it('redacts values under credential keys in embedded JSON, whole blocks included', () => {
    const pretty = JSON.stringify(
      {
        message: 'hi',
        password: CANARY,
        nested: { sshKey: { value: CANARY }, list: [{ clientSecret: CANARY }] },
        secrets: { a: CANARY, b: [CANARY] },
        count: 3,
      },
      null,
      2,
    );
    const line = `Running debug:log in dry-run mode with inputs (secrets redacted): ${pretty}`;
    const out = redactor.text(line);
    expect(out).not.toContain(CANARY);
    // Still valid JSON with the same keys.
    const parsed = JSON.parse(out.slice(out.indexOf('{')));
    expect(parsed).toEqual({
      message: 'hi',
      password: REDACTED,
      nested: { sshKey: REDACTED, list: [{ clientSecret: REDACTED }] },
      secrets: REDACTED,
      count: 3,
    });
  });

  it("redacts util.inspect's unquoted keys before quoted values, but not prose", () => {
    expect(redactor.text(`{ user: 'bob', token: '${CANARY}' }`)).toBe(
      `{ user: 'bob', token: "${REDACTED}" }`,
    );
    expect(redactor.text('the token: expired')).toBe('the token: expired');
  });

  it('is not misled by a stray quote before the real key', () => {
    const out = redactor.text(`a 5" screen and {"apiKey":"${CANARY}"}`);
    expect(out).not.toContain(CANARY);
  });

  it('leaves text without credentials untouched (the same string)', () => {
    const line =
      '::1 - - [30/Nov/2026:19:00:00 +0000] "GET /api/catalog/entities?filter=kind=component HTTP/1.1" 200 12 "-" "curl/8"';
    expect(redactor.text(line)).toBe(line);
  });

  it('redacts secrets in records wherever a string holds them', () => {
    const out = JSON.stringify(
      redactor.copy({
        description: `see password=${CANARY}`,
        note: `{"token":"${CANARY}"}`,
        header: `Bearer ${CANARY}`,
        url: `https://u:${CANARY}@host/`,
      }),
    );
    expect(out).not.toContain(CANARY);
  });
});
