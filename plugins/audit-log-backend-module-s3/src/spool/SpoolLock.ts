import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

interface LockOwner {
  host: string;
  pid: number;
  /** The owning process's start time (ms), to tell a restarted pid 1 in a container from a live one. */
  started: number;
}

const HEARTBEAT_MS = 10_000;
/** A lock whose heartbeat is older than this belongs to a process that is gone. */
const STALE_MS = 30_000;

function processStarted(): number {
  return Math.round(Date.now() - process.uptime() * 1000);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per spool directory. Two writers would share an instance name
 * and sequence numbers, so their objects would overwrite each other's. The
 * lock file names its owner and is touched every {@link HEARTBEAT_MS}; a
 * lock left by a process that is gone (dead pid on this host, or no
 * heartbeat for {@link STALE_MS}) is taken over.
 */
export class SpoolLock {
  readonly #file: string;
  readonly #owner: LockOwner;
  readonly #heartbeat: NodeJS.Timeout;

  private constructor(file: string, owner: LockOwner) {
    this.#file = file;
    this.#owner = owner;
    this.#heartbeat = setInterval(() => {
      const now = new Date();
      fs.utimes(file, now, now).catch(() => {});
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /**
   * Takes the directory's lock, waiting up to `waitMs` (default: long
   * enough for a lock left by a killed process on another host to go stale).
   */
  static async acquire(
    dir: string,
    options: { waitMs?: number; describe: string },
  ): Promise<SpoolLock> {
    const file = path.join(dir, 'lock');
    const owner: LockOwner = {
      host: os.hostname(),
      pid: process.pid,
      started: processStarted(),
    };
    const deadline = Date.now() + (options.waitMs ?? STALE_MS + 5_000);
    for (;;) {
      const holder = await SpoolLock.#holder(file);
      if (holder === 'free') {
        try {
          await fs.writeFile(file, JSON.stringify(owner), {
            flag: 'wx',
            mode: 0o600,
          });
          return new SpoolLock(file, owner);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          continue; // someone else created it just now: look again
        }
      }
      if (holder === 'gone') {
        // Replace, not unlink + create: the file never disappears, so a
        // third process cannot slip in between.
        const tmp = `${file}.${process.pid}.tmp`;
        await fs.writeFile(tmp, JSON.stringify(owner), { mode: 0o600 });
        await fs.rename(tmp, file);
        return new SpoolLock(file, owner);
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `${options.describe} ${dir} is in use by process ${holder.pid} on ${holder.host}; ` +
            'each s3 sink of each replica needs a spool directory of its own',
        );
      }
      await new Promise(r => setTimeout(r, 1000));
    }
  }

  static async #holder(file: string): Promise<'free' | 'gone' | LockOwner> {
    let text: string;
    let mtimeMs: number;
    try {
      [text, { mtimeMs }] = await Promise.all([
        fs.readFile(file, 'utf8'),
        fs.stat(file),
      ]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
      throw e;
    }
    let holder: LockOwner;
    try {
      holder = JSON.parse(text);
    } catch {
      return 'gone'; // torn by a crash while it was written
    }
    if (Date.now() - mtimeMs > STALE_MS) return 'gone';
    if (holder.host === os.hostname()) {
      const samePid = holder.pid === process.pid;
      // Same pid, other start time: a restarted container (pid 1 again).
      if (samePid && Math.abs(holder.started - processStarted()) > 2000) {
        return 'gone';
      }
      if (!samePid && !isAlive(holder.pid)) return 'gone';
    }
    return holder;
  }

  /** Releases the lock, if it is still ours. */
  async release(): Promise<void> {
    clearInterval(this.#heartbeat);
    try {
      const holder: LockOwner = JSON.parse(
        await fs.readFile(this.#file, 'utf8'),
      );
      if (
        holder.host === this.#owner.host &&
        holder.pid === this.#owner.pid &&
        holder.started === this.#owner.started
      ) {
        await fs.unlink(this.#file);
      }
    } catch {
      // Gone already, or taken over: nothing of ours to release.
    }
  }
}
