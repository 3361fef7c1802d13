import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpoolLock } from './SpoolLock';

describe('SpoolLock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-s3-lock-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('refuses a second writer while the first holds the directory, and lets one in after release', async () => {
    const first = await SpoolLock.acquire(dir, {
      describe: 'auditLog.sinks.a.spoolDir',
      waitMs: 0,
    });
    await expect(
      SpoolLock.acquire(dir, {
        describe: 'auditLog.sinks.b.spoolDir',
        waitMs: 0,
      }),
    ).rejects.toThrow(
      `auditLog.sinks.b.spoolDir ${dir} is in use by process ${process.pid} on ${os.hostname()}`,
    );
    await first.release();
    const second = await SpoolLock.acquire(dir, {
      describe: 'auditLog.sinks.b.spoolDir',
      waitMs: 0,
    });
    await second.release();
  });

  it('takes over a lock whose owner on this host is dead (a crash)', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await fs.writeFile(
      path.join(dir, 'lock'),
      JSON.stringify({
        host: os.hostname(),
        pid: dead,
        started: Date.now() - 5000,
      }),
    );
    const lock = await SpoolLock.acquire(dir, {
      describe: 'spoolDir',
      waitMs: 0,
    });
    expect(
      JSON.parse(await fs.readFile(path.join(dir, 'lock'), 'utf8')).pid,
    ).toBe(process.pid);
    await lock.release();
  });

  it('waits for, then refuses, a live lock of another host', async () => {
    await fs.writeFile(
      path.join(dir, 'lock'),
      JSON.stringify({ host: 'other-replica', pid: 1, started: 0 }),
    );
    const started = Date.now();
    await expect(
      SpoolLock.acquire(dir, { describe: 'spoolDir', waitMs: 1500 }),
    ).rejects.toThrow('in use by process 1 on other-replica');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });
});
