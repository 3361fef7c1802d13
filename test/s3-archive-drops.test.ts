/**
 * What the s3 sink loses is visible through the audit log: with the store
 * unreachable (a port nobody listens on: connections are refused, as in an
 * outage) and a small spool, the records past the spool's bound are dropped,
 * and the pipeline's stats, its OpenTelemetry metrics and the backend's log
 * all say so, with the exact count. The real catalog in-process, the real s3
 * sink type installed as an adopter installs it.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { AuditLogService } from '@backstage-audit/plugin-audit-log-node';
import auditLogModuleS3 from '@backstage-audit/plugin-audit-log-backend-module-s3';
import {
  alice,
  AuditedBackend,
  startAuditedBackend,
  waitForEntity,
} from './support/auditedBackend';
import { auditLogProbe, installMetricReader } from './support/pipelineProbes';

const metric = installMetricReader();

let auditLog: AuditLogService;
const probe = auditLogProbe(audit => {
  auditLog = audit;
}, 'test-audit-probe');

const SPOOL_MAX_BYTES = 4096;
const SECRET = 'canary-s3-secret-7d41e0';

it('a full spool shows as dropped {spool-full: n} in stats, metrics and the log, n exactly the records past the bound', async () => {
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-s3-drops-'));
  const closedPort = await new Promise<number>(resolve => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
  let backend: AuditedBackend | undefined;
  try {
    backend = await startAuditedBackend({
      auditLog: {
        sinks: {
          archive: {
            type: 's3',
            endpoint: `http://127.0.0.1:${closedPort}`,
            forcePathStyle: true,
            bucket: 'logs-repo',
            accessKeyId: 'test:writer',
            secretAccessKey: SECRET,
            project: 'portal-a',
            spoolDir,
            spoolMaxBytes: SPOOL_MAX_BYTES,
            batchMaxBytes: 2048,
            closeTimeoutSeconds: 1,
            queue: { flushIntervalMs: 5 },
          },
        },
      },
      features: [auditLogModuleS3, probe],
    });
    await waitForEntity(backend.server, 'component:default/payments-api');
    for (let i = 0; i < 10; i++) {
      await request(backend.server)
        .get('/api/catalog/entities/by-name/component/default/payments-api')
        .set('Authorization', alice());
    }
    // Every record the stdout sink printed went to the archive sink too (same
    // format, same level): wait until the archive sink has handled them all.
    const lines = () =>
      backend!.output
        .text()
        .split('\n')
        .filter(l => l.startsWith('{') && l.includes('"isAuditLog":true'));
    const handled = () => {
      const s = auditLog.stats().sinks.archive;
      return s.delivered + (s.dropped['spool-full'] ?? 0);
    };
    for (let i = 0; handled() < lines().length || i < 10; i++) {
      if (i > 400) throw new Error('the archive sink never caught up');
      await new Promise(r => setTimeout(r, 25));
    }
    const printed = lines();

    // The expected drops follow from the bound alone: records are kept
    // while they fit (uncompressed, each with its line break), first come
    // first served, since nothing can be uploaded to make room.
    let used = 0;
    const kept: string[] = [];
    for (const line of printed) {
      const size = Buffer.byteLength(line) + 1;
      if (used + size <= SPOOL_MAX_BYTES) {
        used += size;
        kept.push(line);
      }
    }
    const expectedDrops = printed.length - kept.length;
    expect(expectedDrops).toBeGreaterThan(5);

    const stats = auditLog.stats().sinks.archive;
    expect(stats.dropped).toEqual({ 'spool-full': expectedDrops });
    expect(stats.delivered).toBe(kept.length);
    expect(stats.queued).toBe(0);
    expect(
      await metric('audit_log.sink.dropped', {
        sink: 'archive',
        reason: 'spool-full',
      }),
    ).toBe(expectedDrops);
    expect(await metric('audit_log.sink.delivered', { sink: 'archive' })).toBe(
      kept.length,
    );
    // The pipeline's failure report names the sink and the reason.
    expect(backend.output.text()).toMatch(
      /failure\(s\) in sink archive, latest: \d+ records not archived \(spool-full\)/,
    );

    // What was kept is in the spool, exactly: the open batch plus any sealed one.
    const spooled: string[] = [];
    for (const name of fs.readdirSync(spoolDir).sort()) {
      const data = fs.readFileSync(path.join(spoolDir, name));
      if (name.startsWith('open-')) {
        // Each line of the open batch is "<record time ms> <line>".
        spooled.push(
          ...data
            .toString('utf8')
            .split('\n')
            .filter(Boolean)
            .map(l => l.slice(l.indexOf(' ') + 1)),
        );
      } else if (name.endsWith('.batch')) {
        const body = gunzipSync(data.subarray(data.indexOf(10) + 1));
        spooled.push(...body.toString('utf8').split('\n').filter(Boolean));
      }
    }
    expect(spooled.sort()).toEqual([...kept].sort());
  } finally {
    await backend?.stop();
    fs.rmSync(spoolDir, { recursive: true, force: true });
  }
  // The shutdown report carries the same counts, and no secret anywhere.
  expect(backend!.output.text()).toMatch(/Audit log stopped.*spool-full/);
  expect(backend!.output.text()).not.toContain(SECRET);
});
