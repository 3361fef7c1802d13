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
