/**
 * An outage of a real OpenStack Swift (`swift-saio.sh stop proxy`, then
 * `start`), on a store of its own so that no other test sees it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigReader } from '@backstage/config';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readS3ArchiveConfig } from './config';
import { S3ArchiveTransport } from './S3ArchiveTransport';
import { createS3Client } from './s3Client';
import {
  auditEntry,
  readArchive,
  waitForArchive,
} from './__testUtils__/archive';
import { captureLogger } from './__testUtils__/captureLogger';
import { startSwiftSaio, SwiftSaio } from './__testUtils__/swiftSaio';

let swift: SwiftSaio;
let admin: S3Client;
const run = crypto.randomBytes(4).toString('hex');
const tmpDirs: string[] = [];

beforeAll(async () => {
  swift = await startSwiftSaio('outage');
  admin = createS3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: swift.admin,
  });
}, 300_000);

afterAll(async () => {
  await swift?.start(); // whatever happened, leave the store up
  admin?.destroy();
  for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
});

async function transportFor(
  prefix: string,
  values: Record<string, unknown>,
  dropped: (count: number, reason: string) => void,
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
        project: 'portal-a',
        prefix,
        spoolDir,
        batchMaxRecords: 5,
        maxDelaySeconds: 1,
        ...values,
      }),
      'auditLog.sinks.archive',
    ),
    configKey: 'auditLog.sinks.archive',
    logger: captureLogger(),
    dropped,
    // Short backoff so the test sees the store's return quickly.
    retry: { initialDelayMs: 100, maxDelayMs: 300 },
  });
  const waiting = async () =>
    (await fs.readdir(spoolDir)).filter(n => n.endsWith('.batch')).length;
  return Object.assign(transport, { waiting });
}

it('keeps accepting into the spool while the store is down, uploads it all in order when it returns, and drops past the spool bound, counted exactly', async () => {
  const steady = `t-${run}/outage`;
  const bounded = `t-${run}/spool-full`;
  const drops: Array<[number, string]> = [];
  const a = await transportFor(steady, {}, () => {
    throw new Error('nothing may be dropped');
  });
  // 400-byte lines, an 8000-byte spool: room for 20 records, no more.
  const b = await transportFor(
    bounded,
    { spoolMaxBytes: 8000, batchMaxBytes: 2048 },
    (count, reason) => drops.push([count, reason]),
  );
  const linesA = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => auditEntry(from + i));

  const before = linesA(0, 10);
  await a.deliver(before);
  await waitForArchive(
    admin,
    swift.bucket,
    `${steady}/`,
    o => o.length === 2,
    5000,
  );

  await swift.stopProxy();
  const during: typeof before = [];
  for (let i = 10; i < 40; i += 3) {
    const chunk = linesA(i, i + 3);
    await a.deliver(chunk); // resolves: spooled, though the store is down
    during.push(...chunk);
  }
  const full = Array.from({ length: 30 }, (_, i) =>
    auditEntry(1000 + i, { padTo: 400 }),
  );
  for (let i = 0; i < 30; i += 6) await b.deliver(full.slice(i, i + 6));
  // Chunks of 6: 18 fit, then 2 of the fourth chunk; the other 4 and the
  // whole fifth chunk are dropped, each delivery reporting its own.
  expect(drops).toEqual([
    [4, 'spool-full'],
    [6, 'spool-full'],
  ]);
  await new Promise(r => setTimeout(r, 1500)); // age seals happen during the outage too
  // 30 records in batches of 5 wait in A's spool; B's 20 likewise.
  expect(await a.waiting()).toBe(6);
  expect(await b.waiting()).toBe(4);

  await swift.start();
  const objectsA = await waitForArchive(
    admin,
    swift.bucket,
    `${steady}/`,
    o => o.flatMap(x => x.lines).length >= 40,
    20_000,
  );
  const objectsB = await waitForArchive(
    admin,
    swift.bucket,
    `${bounded}/`,
    o => o.flatMap(x => x.lines).length >= 20,
    20_000,
  );
  // In order, exactly once: the concatenation in key (= sequence) order.
  expect(objectsA.flatMap(o => o.lines)).toEqual(
    [...before, ...during].map(e => e.line),
  );
  expect(objectsB.flatMap(o => o.lines)).toEqual(
    full.slice(0, 20).map(e => e.line),
  );

  // Uploaded batches leave the spool: there is room again.
  const after = auditEntry(2000, { padTo: 400 });
  await b.deliver([after]);
  expect(drops).toHaveLength(2);
  await a.close();
  await b.close();
  const lastB = await readArchive(admin, swift.bucket, `${bounded}/`);
  expect(lastB.flatMap(o => o.lines).at(-1)).toBe(after.line);
});
