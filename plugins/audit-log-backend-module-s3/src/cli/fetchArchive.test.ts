/**
 * The investigators' command (the package's bin, run as a process) against
 * a real OpenStack Swift: three portals write with the write-only user, the
 * command reads two of them back with the admin's read credentials.
 */
import { AuditSinkEntry } from '@backstage-audit/plugin-audit-log-node';
import { ConfigReader } from '@backstage/config';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readS3ArchiveConfig } from '../config';
import { S3ArchiveTransport } from '../S3ArchiveTransport';
import { auditEntry } from '../__testUtils__/archive';
import { captureLogger } from '../__testUtils__/captureLogger';
import { startSwiftSaio, SwiftSaio } from '../__testUtils__/swiftSaio';

const BIN = path.resolve(__dirname, '../../bin/backstage-audit-archive');
let swift: SwiftSaio;
const run = crypto.randomBytes(4).toString('hex');
const prefix = `t-${run}/fetch`;
const tmpDirs: string[] = [];

beforeAll(async () => {
  swift = await startSwiftSaio('shared');
}, 300_000);

afterAll(async () => {
  for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>(
    resolve => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', d => (stdout += d));
      child.stderr.on('data', d => (stderr += d));
      child.on('close', code => resolve({ code, stdout, stderr }));
    },
  );
}

async function archive(
  project: string,
  instance: string,
  entries: AuditSinkEntry[],
) {
  const spoolDir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-s3-spool-'));
  tmpDirs.push(spoolDir);
  const transport = await S3ArchiveTransport.create({
    config: readS3ArchiveConfig(
      new ConfigReader({
        endpoint: swift.endpoint,
        region: swift.region,
        bucket: swift.bucket,
        forcePathStyle: true,
        accessKeyId: swift.writer.accessKeyId,
        secretAccessKey: swift.writer.secretAccessKey,
        prefix,
        project,
        instance,
        spoolDir,
        batchMaxRecords: 7,
      }),
      'auditLog.sinks.archive',
    ),
    configKey: 'auditLog.sinks.archive',
    logger: captureLogger(),
    dropped: () => {},
  });
  await transport.deliver(entries);
  await transport.close();
}

it('returns exactly the records of [from, to), ordered by time, merged across two projects and instances', async () => {
  const base = Date.parse('2025-03-04T09:58:00Z');
  const at = (s: number) => new Date(base + s * 1000).toISOString();
  // alpha (project p): a record every 10 s from 09:58:00 to 10:03:00.
  const alpha = Array.from({ length: 31 }, (_, k) =>
    auditEntry(k, { timestamp: at(10 * k), project: 'p' }),
  );
  // beta (project q): 5 s later each, delivered with neighbours swapped, as
  // concurrent requests can finish out of order.
  const beta = Array.from({ length: 31 }, (_, k) =>
    auditEntry(100 + k, { timestamp: at(10 * k + 5), project: 'q' }),
  );
  const betaDelivered = beta.map(
    (_, k) => beta[k % 2 === 0 ? Math.min(k + 1, 30) : k - 1],
  );
  expect(new Set(betaDelivered)).toEqual(new Set(beta));
  // gamma (project r): same times, not asked for.
  const gamma = Array.from({ length: 31 }, (_, k) =>
    auditEntry(200 + k, { timestamp: at(10 * k), project: 'r' }),
  );
  await Promise.all([
    archive('p', 'alpha', alpha),
    archive('q', 'beta', betaDelivered),
    archive('r', 'gamma', gamma),
  ]);

  const from = '2025-03-04T10:00:00Z';
  const to = '2025-03-04T10:01:30Z';
  const started = Date.now();
  const result = await cli(
    [
      'fetch',
      '--endpoint',
      swift.endpoint,
      '--region',
      swift.region,
      '--force-path-style',
      '--bucket',
      swift.bucket,
      '--prefix',
      prefix,
      '--project',
      'p',
      '--project',
      'q',
      '--from',
      from,
      '--to',
      to,
    ],
    {
      AWS_ACCESS_KEY_ID: swift.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: swift.admin.secretAccessKey,
    },
  );
  const took = Date.now() - started;
  expect(result.stderr).not.toContain(swift.admin.secretAccessKey);
  expect(result.code).toBe(0);

  // 10:00:00 is in, 10:01:30 is out; the records of 10:00:00 and 10:00:05
  // sit in objects of the 09 partition (their batches began before 10:00).
  const inWindow = (e: AuditSinkEntry) =>
    e.record.timestamp >= '2025-03-04T10:00:00.000Z' &&
    e.record.timestamp < '2025-03-04T10:01:30.000Z';
  const expected = [...alpha, ...beta]
    .filter(inWindow)
    .sort((a, b) => a.record.timestamp.localeCompare(b.record.timestamp))
    .map(e => e.line);
  expect(expected).toHaveLength(18);
  expect(result.stdout.split('\n').filter(l => l !== '')).toEqual(expected);
  expect(took).toBeLessThan(15_000);
});

it('fails with a clear message, and without echoing the secret, when the credentials cannot read', async () => {
  const canary = `CANARY-${crypto.randomBytes(8).toString('hex')}`;
  const result = await cli(
    [
      'fetch',
      '--endpoint',
      swift.endpoint,
      '--force-path-style',
      '--bucket',
      swift.bucket,
      '--project',
      'p',
      '--from',
      '2025-03-04T10:00:00Z',
      '--to',
      '2025-03-04T11:00:00Z',
    ],
    {
      AWS_ACCESS_KEY_ID: swift.writer.accessKeyId,
      AWS_SECRET_ACCESS_KEY: canary,
    },
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/backstage-audit-archive: .*\(HTTP 403\)/);
  expect(result.stderr).not.toContain(canary);
  expect(result.stdout).toBe('');
});
