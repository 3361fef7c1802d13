/**
 * The s3 sink's transport against a real OpenStack Swift with its S3 API
 * (`../shared/scripts/swift-saio.sh`), writing as the write-only user and
 * reading back as the account admin. Nothing here is mocked; the one
 * stand-in is a TCP proxy that loses a reply (see lostReplyProxy.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigReader } from '@backstage/config';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readS3ArchiveConfig } from './config';
import { hourPrefix, hourStart, SEQUENCE_DIGITS } from './objectKeys';
import { S3ArchiveTransport } from './S3ArchiveTransport';
import { createS3Client } from './s3Client';
import {
  auditEntry,
  readArchive,
  waitForArchive,
} from './__testUtils__/archive';
import { captureLogger } from './__testUtils__/captureLogger';
import { startLostReplyProxy } from './__testUtils__/lostReplyProxy';
import { startSwiftSaio, SwiftSaio } from './__testUtils__/swiftSaio';

let swift: SwiftSaio;
let admin: S3Client;
const run = crypto.randomBytes(4).toString('hex');
const tmpDirs: string[] = [];

beforeAll(async () => {
  swift = await startSwiftSaio('shared');
  admin = createS3Client({
    endpoint: swift.endpoint,
    region: swift.region,
    forcePathStyle: true,
    credentials: swift.admin,
  });
}, 300_000);

afterAll(async () => {
  admin?.destroy();
  for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
});

async function spoolDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-s3-spool-'));
  tmpDirs.push(d);
  return d;
}

/** A sink block as an adopter writes it, read through the real config reader. */
function sinkConfig(values: Record<string, unknown>) {
  return readS3ArchiveConfig(
    new ConfigReader({
      type: 's3',
      endpoint: swift.endpoint,
      region: swift.region,
      bucket: swift.bucket,
      forcePathStyle: true,
      accessKeyId: swift.writer.accessKeyId,
      secretAccessKey: swift.writer.secretAccessKey,
      project: 'portal-a',
      ...values,
    }),
    'auditLog.sinks.archive',
  );
}

function seqOf(key: string): { first: number; last: number } {
  const m = new RegExp(
    `-(\\d{${SEQUENCE_DIGITS}})-(\\d{${SEQUENCE_DIGITS}})\\.jsonl\\.gz$`,
  ).exec(key)!;
  return { first: Number(m[1]), last: Number(m[2]) };
}

describe('S3ArchiveTransport on Swift, as the write-only user', () => {
  it('seals batches by record count, by size and by age, within the delay bound, under the documented keys', async () => {
    const prefix = `t-${run}/bounds`;
    const transport = await S3ArchiveTransport.create({
      config: sinkConfig({
        prefix,
        spoolDir: await spoolDir(),
        maxDelaySeconds: 3,
        batchMaxRecords: 5,
        batchMaxBytes: 2000,
      }),
      configKey: 'auditLog.sinks.archive',
      logger: captureLogger(),
      dropped: () => {
        throw new Error('nothing may be dropped');
      },
    });
    // 350-byte lines: five fill a batch by count (1750 <= 2000 bytes).
    // 900-byte lines: the batch reaches 2000 bytes before 5 records.
    const small = Array.from({ length: 7 }, (_, i) =>
      auditEntry(i, { padTo: 350 }),
    );
    const started = Date.now();
    await transport.deliver(small);
    const big = Array.from({ length: 3 }, (_, i) =>
      auditEntry(100 + i, { padTo: 900 }),
    );
    await transport.deliver(big);

    const objects: Array<{
      key: string;
      lines: string[];
      seenAfterMs: number;
    }> = [];
    const seen = new Set<string>();
    while (objects.length < 3 && Date.now() - started < 10_000) {
      for (const o of await readArchive(admin, swift.bucket, `${prefix}/`)) {
        if (!seen.has(o.key)) {
          seen.add(o.key);
          objects.push({ ...o, seenAfterMs: Date.now() - started });
        }
      }
      await new Promise(r => setTimeout(r, 100));
    }
    await transport.close();

    const lines = (es: typeof small) => es.map(e => e.line);
    expect(objects.map(o => o.lines)).toEqual([
      lines(small.slice(0, 5)), // by count
      lines([small[5], small[6], big[0]]), // by size: big[1] would make 2600 bytes
      lines(big.slice(1)), // by age
    ]);
    // Count and size seals upload at once; the age seal waits for its bound.
    expect(objects[0].seenAfterMs).toBeLessThan(1500);
    expect(objects[1].seenAfterMs).toBeLessThan(1500);
    const ageDelay =
      started + objects[2].seenAfterMs - Date.parse(big[1].record.timestamp);
    expect(ageDelay).toBeGreaterThanOrEqual(3000 - 150);
    expect(ageDelay).toBeLessThan(3000 + 1000);

    // <prefix>/<project>/<yyyy>/<mm>/<dd>/<hh>/<instance>-<first>-<last>.jsonl.gz
    const instance = transport.instance;
    expect(instance).toMatch(
      new RegExp(
        `^${os.hostname().replace(/[^A-Za-z0-9._-]/g, '-')}-[0-9a-f]{8}$`,
      ),
    );
    const batches = [
      small.slice(0, 5),
      [small[5], small[6], big[0]],
      big.slice(1),
    ];
    const seq = objects.map(o => seqOf(o.key));
    objects.forEach((o, i) => {
      const earliest = Math.min(
        ...batches[i].map(e => Date.parse(e.record.timestamp)),
      );
      const hour = hourPrefix(
        { prefix, project: 'portal-a' },
        hourStart(earliest),
      );
      expect(o.key).toBe(
        `${hour}${instance}-${String(seq[i].first).padStart(16, '0')}-${String(seq[i].last).padStart(16, '0')}.jsonl.gz`,
      );
      expect(hour).toMatch(
        new RegExp(`^${prefix}/portal-a/\\d{4}/\\d{2}/\\d{2}/\\d{2}/$`),
      );
      expect(seq[i].last - seq[i].first + 1).toBe(batches[i].length);
    });
    // Each object's sequence continues the previous one's.
    expect(seq.slice(1).map(s => s.first)).toEqual(
      seq.slice(0, -1).map(s => s.last + 1),
    );
  });

  it('retries a PUT whose reply was lost under the same key, so its records appear once', async () => {
    const prefix = `t-${run}/lost-reply`;
    const proxy = await startLostReplyProxy({
      target: new URL(swift.endpoint),
      cut: 1,
    });
    const logger = captureLogger();
    const transport = await S3ArchiveTransport.create({
      config: sinkConfig({
        prefix,
        endpoint: proxy.endpoint,
        spoolDir: await spoolDir(),
      }),
      configKey: 'auditLog.sinks.archive',
      logger,
      dropped: () => {},
      retry: { initialDelayMs: 100, maxDelayMs: 200 },
    });
    const entries = Array.from({ length: 3 }, (_, i) => auditEntry(i));
    await transport.deliver(entries);
    await transport.close();
    await proxy.close();

    expect(proxy.cutCount()).toBe(1);
    // Two PUTs of one key: the first stored the object, its reply was lost.
    expect(proxy.puts).toHaveLength(2);
    expect(proxy.puts[1]).toBe(proxy.puts[0]);
    expect(
      logger.lines.some(
        l => l.startsWith('warn') && l.includes('failed (attempt 1'),
      ),
    ).toBe(true);
    const objects = await readArchive(admin, swift.bucket, `${prefix}/`);
    expect(objects).toHaveLength(1);
    expect(proxy.puts[0].split('?')[0]).toBe(
      `/${swift.bucket}/${objects[0].key}`,
    );
    expect(objects[0].lines).toEqual(entries.map(e => e.line));
  });

  it('after a crash (SIGKILL) and after a close that could not upload, a new transport on the same spool uploads everything once', async () => {
    const prefix = `t-${run}/restart`;
    const dir = await spoolDir();
    // No store listens on port 9: every upload fails, batches stay spooled.
    const unreachable = sinkConfig({
      prefix,
      endpoint: 'http://127.0.0.1:9',
      spoolDir: dir,
      batchMaxRecords: 4,
      closeTimeoutSeconds: 1,
    });
    const timestamp = new Date().toISOString();

    // 1. A crash: 10 records, two sealed batches and an open one of 2, then SIGKILL.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(__dirname, '__testUtils__/crashChild.ts'),
        JSON.stringify({ config: unreachable, first: 0, count: 10, timestamp }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', d => (stderr += d));
    const instance = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', d => {
        const m = /spooled (\S+)/.exec(String(d));
        if (m) resolve(m[1]);
      });
      child.on('exit', code =>
        reject(new Error(`child exited ${code}: ${stderr}`)),
      );
    });
    child.kill('SIGKILL');
    await new Promise(r => child.once('exit', r));
    const left = (await fs.readdir(dir)).sort();
    expect(left.filter(n => n.endsWith('.batch'))).toHaveLength(2);
    expect(left.filter(n => n.startsWith('open-'))).toHaveLength(1);

    // 2. A restart that cannot upload either, then a clean close: the
    //    recovered open batch is sealed, plus 3 new records, all kept.
    const second = await S3ArchiveTransport.create({
      config: unreachable,
      configKey: 'auditLog.sinks.archive',
      logger: captureLogger(),
      dropped: () => {},
    });
    expect(second.instance).toBe(instance);
    const more = Array.from({ length: 3 }, (_, i) =>
      auditEntry(10 + i, { timestamp }),
    );
    await second.deliver(more);
    const closeStarted = Date.now();
    await second.close();
    expect(Date.now() - closeStarted).toBeLessThan(1000 + 500);
    expect(
      (await fs.readdir(dir)).filter(n => n.endsWith('.batch')),
    ).toHaveLength(4);

    // 3. The store is back: everything goes up, oldest first, exactly once.
    const third = await S3ArchiveTransport.create({
      config: sinkConfig({ prefix, spoolDir: dir, batchMaxRecords: 4 }),
      configKey: 'auditLog.sinks.archive',
      logger: captureLogger(),
      dropped: () => {},
    });
    const objects = await waitForArchive(
      admin,
      swift.bucket,
      `${prefix}/`,
      o => o.length >= 4,
      10_000,
    );
    await third.close();
    const all = Array.from(
      { length: 13 },
      (_, n) => auditEntry(n, { timestamp }).line,
    );
    expect(objects.flatMap(o => o.lines)).toEqual(all);
    expect(objects.map(o => o.lines.length)).toEqual([4, 4, 2, 3]);
    const seq = objects.map(o => seqOf(o.key));
    for (let i = 1; i < seq.length; i++)
      expect(seq[i].first).toBe(seq[i - 1].last + 1);
    expect(objects.every(o => o.key.includes(`/${instance}-`))).toBe(true);
    expect(await fs.readdir(dir)).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/\.batch$|^open-/)]),
    );
  });

  it('a delivery that fails part-way on a full disk (a real ENOSPC) is retried without spooling anything twice', async () => {
    // A 256 KiB tmpfs as the spool's disk: ENOSPC for real, and transient,
    // since the test frees the space again (needs root, as CI has).
    const mnt = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-s3-tmpfs-'));
    execFileSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      'size=256k,mode=0700',
      'tmpfs',
      mnt,
    ]);
    try {
      const prefix = `t-${run}/enospc`;
      const dir = path.join(mnt, 'spool');
      const transport = await S3ArchiveTransport.create({
        config: sinkConfig({ prefix, spoolDir: dir, batchMaxRecords: 5 }),
        configKey: 'auditLog.sinks.archive',
        logger: captureLogger(),
        dropped: () => {
          throw new Error('nothing may be dropped');
        },
      });
      // Leave 3 pages: the 5 records of the first batch take 2 (5 x 1014
      // bytes in the open file), its sealed file 1, and the next file
      // written while sealing finds the disk full.
      const { bavail, bsize } = await fs.statfs(mnt);
      await fs.writeFile(
        path.join(mnt, 'filler'),
        Buffer.alloc((bavail - 3) * bsize),
      );
      const entries = Array.from({ length: 12 }, (_, i) =>
        auditEntry(i, { padTo: 1000 }),
      );
      await expect(transport.deliver(entries)).rejects.toThrow(/ENOSPC/);
      // Part-way: the first five were spooled before the disk filled up.
      const [openFile] = (await fs.readdir(dir)).filter(n =>
        n.startsWith('open-'),
      );
      const spooled = (
        await fs.readFile(path.join(dir, openFile), 'utf8')
      ).split('\n');
      expect(spooled.filter(l => l !== '')).toHaveLength(5);

      await fs.rm(path.join(mnt, 'filler'));
      await transport.deliver(entries); // the pipeline's retry: the same entries
      await transport.close();
      const objects = await readArchive(admin, swift.bucket, `${prefix}/`);
      expect(objects.flatMap(o => o.lines)).toEqual(entries.map(e => e.line));
      expect(objects.map(o => o.lines.length)).toEqual([5, 5, 2]);
    } finally {
      execFileSync('umount', [mnt]);
      await fs.rmdir(mnt);
    }
  });

  it('close() seals and uploads the open batch within closeTimeoutSeconds', async () => {
    const prefix = `t-${run}/close`;
    const transport = await S3ArchiveTransport.create({
      config: sinkConfig({
        prefix,
        spoolDir: await spoolDir(),
        closeTimeoutSeconds: 2,
      }),
      configKey: 'auditLog.sinks.archive',
      logger: captureLogger(),
      dropped: () => {},
    });
    const entries = Array.from({ length: 3 }, (_, i) => auditEntry(i));
    await transport.deliver(entries);
    // maxDelaySeconds is 60: without close() nothing would be uploaded for a minute.
    expect(await readArchive(admin, swift.bucket, `${prefix}/`)).toEqual([]);
    const started = Date.now();
    await transport.close();
    expect(Date.now() - started).toBeLessThan(2000);
    const objects = await readArchive(admin, swift.bucket, `${prefix}/`);
    expect(objects.map(o => o.lines)).toEqual([entries.map(e => e.line)]);
    await expect(transport.deliver([auditEntry(9)])).rejects.toThrow(/closed/);
  });

  it("close() stops at the pipeline's shutdown deadline when it comes first, and leaves the rest in the spool for the next start", async () => {
    const prefix = `t-${run}/close-deadline`;
    const dir = await spoolDir();
    // A port nothing listens on: every upload is refused, as in an outage.
    const closedPort = await new Promise<number>(resolve => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const down = await S3ArchiveTransport.create({
      config: sinkConfig({
        prefix,
        spoolDir: dir,
        endpoint: `http://127.0.0.1:${closedPort}`,
        closeTimeoutSeconds: 10,
      }),
      configKey: 'auditLog.sinks.archive',
      logger: captureLogger(),
      dropped: () => {},
      retry: { initialDelayMs: 50, maxDelayMs: 50 },
    });
    const entries = Array.from({ length: 3 }, (_, i) => auditEntry(i));
    await down.deliver(entries);
    const started = Date.now();
    await down.close({ deadline: started + 700 });
    const took = Date.now() - started;
    // The deadline, not closeTimeoutSeconds (10 s), ended the close.
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(2000);
    expect(
      (await fs.readdir(dir)).filter(n => n.endsWith('.batch')),
    ).toHaveLength(1);

    const up = await S3ArchiveTransport.create({
      config: sinkConfig({ prefix, spoolDir: dir }),
      configKey: 'auditLog.sinks.archive',
      logger: captureLogger(),
      dropped: () => {},
    });
    const objects = await waitForArchive(
      admin,
      swift.bucket,
      `${prefix}/`,
      o => o.length > 0,
      10_000,
    );
    expect(objects.map(o => o.lines)).toEqual([entries.map(e => e.line)]);
    await up.close();
  });

  it('close() does not wait out a long backoff: a store that came back just before shutdown gets the spool at once', async () => {
    const prefix = `t-${run}/close-backoff`;
    const port = await new Promise<number>(resolve => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(p));
      });
    });
    const logger = captureLogger();
    const transport = await S3ArchiveTransport.create({
      config: sinkConfig({
        prefix,
        spoolDir: await spoolDir(),
        endpoint: `http://127.0.0.1:${port}`,
        maxDelaySeconds: 1,
        closeTimeoutSeconds: 10,
      }),
      configKey: 'auditLog.sinks.archive',
      logger,
      dropped: () => {},
      // After the first failure the uploader would sleep 20 s.
      retry: { initialDelayMs: 20_000, maxDelayMs: 20_000 },
    });
    const entries = Array.from({ length: 3 }, (_, i) => auditEntry(i));
    await transport.deliver(entries);
    for (
      let i = 0;
      !logger.lines.some(l => /upload of .* failed/.test(l));
      i++
    ) {
      if (i > 200) throw new Error('the first upload never failed');
      await new Promise(r => setTimeout(r, 50));
    }
    // The store is reachable again on that port (a relay to the real Swift).
    const relay = await startLostReplyProxy({
      target: new URL(swift.endpoint),
      cut: 0,
      port,
    });
    try {
      const started = Date.now();
      await transport.close({ deadline: started + 5000 });
      expect(Date.now() - started).toBeLessThan(3000);
      const objects = await readArchive(admin, swift.bucket, `${prefix}/`);
      expect(objects.map(o => o.lines)).toEqual([entries.map(e => e.line)]);
    } finally {
      await relay.close();
    }
  });

  it('never logs the credentials, even when the store rejects them', async () => {
    const canary = `CANARY-${crypto.randomBytes(8).toString('hex')}`;
    const keyCanary = `test:writer-${canary}-KEY`;
    const logger = captureLogger();
    const transport = await S3ArchiveTransport.create({
      config: sinkConfig({
        prefix: `t-${run}/canary`,
        accessKeyId: keyCanary,
        secretAccessKey: canary,
        spoolDir: await spoolDir(),
        closeTimeoutSeconds: 1,
      }),
      configKey: 'auditLog.sinks.archive',
      logger,
      dropped: () => {},
      retry: { initialDelayMs: 50, maxDelayMs: 50 },
    });
    await transport.deliver([auditEntry(1)]);
    await transport.close();
    const logged = logger.lines.join('\n');
    expect(logged).toMatch(/upload of .* failed/); // the store did refuse
    expect(logged).not.toContain(canary);
  });
});
