import express from 'express';
import request from 'supertest';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import {
  AuditRecord,
  AuditSink,
  DefaultAuditLogService,
  Redactor,
} from '@backstage-audit/plugin-audit-log-node';
import { readAuditLogConfig } from '../config';
import { createAuditCapture } from './createAuditCapture';

// A plain express app with the real capture and pipeline; httpAuth is
// Backstage's mock (no auth backend runs here), requests are anonymous.
function setup() {
  const records: AuditRecord[] = [];
  const sink: AuditSink = {
    name: 'memory',
    write: r => {
      records.push(r);
    },
    stats: () => ({
      written: records.length,
      failed: 0,
      dropped: 0,
      queued: 0,
    }),
  };
  const auditLog = DefaultAuditLogService.create({
    redactor: Redactor.create(),
    sinks: [sink],
  });
  const options = {
    pluginId: 'demo',
    auditLog,
    httpAuth: mockServices.httpAuth(),
    config: readAuditLogConfig(new ConfigReader({})),
  };
  return { records, options };
}

describe('createAuditCapture', () => {
  it('records a response once when two captures see it, and both hooks still work', async () => {
    const { records, options } = setup();
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
    expect(records.map(r => `${r.stage}:${r.response?.status ?? '-'}`)).toEqual(
      ['initiation:-', 'completion:201'],
    );
    expect(response.headers['audit-id']).toBe(records[0].auditId);
  });

  it('keeps each concurrent response apart with the shared hooks', async () => {
    const { records, options } = setup();
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
      const completion = records.find(
        r =>
          r.stage === 'completion' &&
          r.auditId === response.headers['audit-id'],
      );
      expect(completion?.response?.status).toBe(statuses[n]);
      expect(completion?.request?.url).toBe(`/n/${n}`);
    }
    expect(records.filter(r => r.stage === 'completion')).toHaveLength(5);
  });
});
