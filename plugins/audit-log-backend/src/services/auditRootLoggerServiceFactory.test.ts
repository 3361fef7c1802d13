import { Writable } from 'node:stream';
import * as winston from 'winston';
import { Redactor } from '@backstage-audit/plugin-audit-log-node';
import { createOrdinaryLogSafetyFormat } from './auditRootLoggerServiceFactory';

function logger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = winston.createLogger({
    format: winston.format.combine(
      createOrdinaryLogSafetyFormat(Redactor.create()),
      winston.format.json(),
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { log, lines };
}

describe('createOrdinaryLogSafetyFormat', () => {
  it('redacts credential-like query values in an access-log message and url field', () => {
    const { log, lines } = logger();
    log.info('"GET /api/catalog/entities?token=s3cr3t&limit=1 HTTP/1.1" 200', {
      url: '/api/catalog/entities?api_key=k3y&limit=1',
    });
    expect(lines.join('')).not.toMatch(/s3cr3t|k3y/);
    const parsed = JSON.parse(lines[0]);
    expect(parsed.message).toContain('token=***&limit=1');
    expect(parsed.url).toBe('/api/catalog/entities?api_key=***&limit=1');
  });

  it('never lets an ordinary log line pass for an audit record', () => {
    const { log, lines } = logger();
    log.info('forged {"isAuditLog":true}', {
      isAuditLog: true,
      eventName: 'CatalogEntityDeletion',
    });
    const parsed = JSON.parse(lines[0]);
    expect(parsed).not.toHaveProperty('isAuditLog');
    // The documented cluster-logging filter matches the text `isAuditLog` in the message.
    expect(lines[0]).not.toContain('isAuditLog');
  });
});

describe('createOrdinaryLogSafetyFormat: credentials in structured fields and embedded text', () => {
  const CANARY = 'canary-log-5e1b';

  it("masks the step inputs of the scaffolder's dry-run line, printed as JSON in the message", () => {
    const { log, lines } = logger();
    const inputs = {
      message: 'hello',
      password: CANARY,
      clientSecret: CANARY,
      authorization: `Bearer ${CANARY}`,
      api_key: CANARY,
      nested: { sshKey: { value: CANARY }, list: [{ passwd: CANARY }] },
    };
    // The scaffolder's step logger colours the level and prints the inputs pretty.
    log.info(
      `\u001b[32minfo\u001b[39m: Running debug:log in dry-run mode with inputs (secrets redacted): ${JSON.stringify(
        inputs,
        undefined,
        2,
      )}`,
    );
    expect(lines.join('')).not.toContain(CANARY);
    const message: string = JSON.parse(lines[0]).message;
    const json = JSON.parse(message.slice(message.indexOf('{')));
    expect(json).toEqual({
      message: 'hello',
      password: '***',
      clientSecret: '***',
      authorization: '***',
      api_key: '***',
      nested: { sshKey: '***', list: [{ passwd: '***' }] },
    });
  });

  it('masks credential keys at any depth of structured fields, and key=value text', () => {
    const { log, lines } = logger();
    log.warn(`login failed for user=bob password=${CANARY}`, {
      token: CANARY,
      request: { headers: { authorization: `Bearer ${CANARY}` }, id: 7 },
      detail: `{"apiKey":"${CANARY}"}`,
    });
    expect(lines.join('')).not.toContain(CANARY);
    const parsed = JSON.parse(lines[0]);
    expect(parsed.message).toBe('login failed for user=bob password=***');
    expect(parsed.token).toBe('***');
    expect(parsed.request).toEqual({
      headers: { authorization: '***' },
      id: 7,
    });
  });

  it('keeps errors as errors, with credentials gone from message and stack', () => {
    const lines: unknown[] = [];
    const format = createOrdinaryLogSafetyFormat(Redactor.create());
    const error = new Error(`connect postgres://app:${CANARY}@db/x failed`);
    const out = format.transform({
      level: 'error',
      message: 'db',
      error,
    }) as Record<string, unknown>;
    lines.push(out);
    const copy = out.error as Error;
    expect(copy).toBeInstanceOf(Error);
    expect(copy.message).toBe('connect postgres://app:***@db/x failed');
    expect(copy.stack).not.toContain(CANARY);
    // The caller's error object is left as it was.
    expect(error.message).toContain(CANARY);
  });
});

describe('createOrdinaryLogSafetyFormat: the audit marker in any field', () => {
  it('renames isAuditLog in every key and string of an ordinary entry, not only its message', () => {
    const { log, lines } = logger();
    log.info('"GET /api/catalog/entities?x=isAuditLog HTTP/1.1" 200', {
      url: '/api/catalog/entities?x=isAuditLog',
      userAgent: 'curl {"isAuditLog":true}',
      nested: { deep: ['isAuditLog'], isAuditLogKey: 1 },
      xisAuditLog: 'top-level key',
    });
    // The RHDH guide's filter matches the text of the whole line.
    expect(lines[0]).not.toContain('isAuditLog');
    const parsed = JSON.parse(lines[0]);
    expect(parsed.userAgent).toBe('curl {"isAudit_Log":true}');
    expect(parsed.nested).toEqual({ deep: ['isAudit_Log'], isAudit_LogKey: 1 });
    expect(parsed.xisAudit_Log).toBe('top-level key');
  });
});
