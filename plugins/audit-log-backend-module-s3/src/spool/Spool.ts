import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { SpoolLock } from './SpoolLock';

const gzip = promisify(zlib.gzip);

/** A record as the spool keeps it: its line and its timestamp. */
export interface SpoolEntry {
  line: string;
  /** The record's timestamp (ms since the epoch). */
  timeMs: number;
}

/** A sealed batch: a file in the spool holding the object's key and its exact bytes. */
export interface SealedBatch {
  readonly file: string;
  readonly key: string;
  readonly first: number;
  readonly last: number;
  readonly records: number;
  /** Uncompressed size of its lines (what the spool bound counts). */
  readonly bytes: number;
}

/** What is known about the open batch. */
export interface OpenBatchState {
  readonly first: number;
  readonly records: number;
  readonly bytes: number;
  /** Earliest record timestamp (ms). */
  readonly earliestMs: number;
}

interface OpenBatch {
  first: number;
  records: number;
  bytes: number;
  earliestMs: number;
  file: string;
  handle: fs.FileHandle;
  /** Length of the file's acknowledged content; writes go here, so a failed write is simply overwritten by its retry. */
  length: number;
  lines: string[];
}

const OPEN_FILE = /^open-(\d+)\.lines$/;
const SEALED_FILE = /^(\d+)-(\d+)\.batch$/;
/** One line of the open file: the record's time in ms, a space, the line. */
const OPEN_LINE = /^(-?\d+) (.*)$/;

/** UTF-8 size of a line plus its line break: the unit of every byte bound. */
export function lineBytes(line: string): number {
  return Buffer.byteLength(line) + 1;
}

function sanitizeHost(host: string): string {
  const cleaned = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100);
  return cleaned || 'host';
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a small file so that it is either absent, the old version or the new one, never torn. */
async function writeFileDurably(file: string, data: string | Buffer) {
  const tmp = `${file}.tmp`;
  const handle = await fs.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/**
 * The spool directory of one `s3` sink: the open batch, sealed batches
 * waiting for upload, the sequence counter and the generated instance name.
 *
 * ```
 * lock                       the writer's lock (SpoolLock)
 * instance                   the generated instance name, when none is configured
 * sequence                   the next unused sequence number
 * open-<first>.lines         the open batch: "<ms> <line>" per record, fdatasync'ed per append
 * <first>-<last>.batch       a sealed batch: a JSON header line, then the gzip object body
 * ```
 *
 * Sealing writes the batch file (fsync, rename, directory fsync), then
 * advances `sequence`, then deletes the open file; recovery after a crash
 * at any point in between finds each record in exactly one place.
 */
export class Spool {
  readonly #dir: string;
  readonly #lock: SpoolLock;
  readonly #instance: string;
  #nextSeq: number;
  #open: OpenBatch | undefined;
  #sealedBytes = 0;

  private constructor(opts: {
    dir: string;
    lock: SpoolLock;
    instance: string;
    nextSeq: number;
  }) {
    this.#dir = opts.dir;
    this.#lock = opts.lock;
    this.#instance = opts.instance;
    this.#nextSeq = opts.nextSeq;
  }

  /**
   * Opens (creating if needed) and locks a spool directory, and recovers
   * what a previous run left: an open batch is returned for sealing, sealed
   * batches in sequence order for upload.
   */
  static async open(options: {
    dir: string;
    /** The configured instance name; absent: the one kept in the directory (generated the first time). */
    instance?: string;
    /** How errors name the directory (`auditLog.sinks.archive.spoolDir`). */
    describe: string;
    lockWaitMs?: number;
  }): Promise<{
    spool: Spool;
    sealed: SealedBatch[];
    recovered:
      { entries: SpoolEntry[]; first: number; tornBytes: number } | undefined;
  }> {
    const dir = options.dir;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await SpoolLock.acquire(dir, {
      describe: options.describe,
      waitMs: options.lockWaitMs,
    });
    try {
      const names = await fs.readdir(dir);
      for (const name of names.filter(n => n.endsWith('.tmp'))) {
        await fs.rm(path.join(dir, name), { force: true }); // never renamed: not part of the spool
      }

      const instance =
        options.instance ?? (await Spool.#generatedInstance(dir));

      const seqFile = path.join(dir, 'sequence');
      let storedSeq: number | undefined;
      try {
        storedSeq = Number((await fs.readFile(seqFile, 'utf8')).trim());
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (
        storedSeq !== undefined &&
        !(Number.isSafeInteger(storedSeq) && storedSeq >= 0)
      ) {
        throw new Error(`${options.describe} ${seqFile} is corrupt`);
      }

      const sealed: SealedBatch[] = [];
      for (const n of names) {
        if (SEALED_FILE.test(n)) {
          sealed.push(
            await Spool.#readSealedHeader(path.join(dir, n), options.describe),
          );
        }
      }
      sealed.sort((a, b) => a.first - b.first);

      let recovered:
        { entries: SpoolEntry[]; first: number; tornBytes: number } | undefined;
      for (const n of names) {
        const m = OPEN_FILE.exec(n);
        if (!m) continue;
        const first = Number(m[1]);
        const file = path.join(dir, n);
        if (
          (storedSeq !== undefined && first < storedSeq) ||
          sealed.some(b => b.first === first)
        ) {
          // Sealed before the crash; only the deletion was missing.
          await fs.rm(file, { force: true });
          continue;
        }
        const parsed = Spool.#parseOpenFile(await fs.readFile(file));
        if (parsed.entries.length === 0) {
          await fs.rm(file, { force: true });
        } else {
          recovered = { first, ...parsed };
        }
      }

      // A new spool starts its numbers at the current time in µs, so even a
      // spool directory that was lost never reuses a number (and a key) its
      // predecessor wrote under the same instance name. A recovered open
      // batch keeps its numbers: it is sealed (advancing the counter) before
      // anything else is written.
      const empty = sealed.length === 0 && recovered === undefined;
      const nextSeq = Math.max(
        storedSeq ?? (empty ? Date.now() * 1000 : 0),
        ...sealed.map(b => b.last + 1),
        recovered?.first ?? 0,
      );
      if (storedSeq === undefined) {
        await writeFileDurably(seqFile, `${nextSeq}\n`);
      }

      const spool = new Spool({ dir, lock, instance, nextSeq });
      spool.#sealedBytes = sealed.reduce((s, b) => s + b.bytes, 0);
      return { spool, sealed, recovered };
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  static async #generatedInstance(dir: string): Promise<string> {
    const file = path.join(dir, 'instance');
    try {
      const name = (await fs.readFile(file, 'utf8')).trim();
      if (name) return name;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // The host name tells an investigator which replica wrote an object; the
    // random part keeps two hosts of the same name apart.
    const name = `${sanitizeHost(os.hostname())}-${crypto.randomBytes(4).toString('hex')}`;
    await writeFileDurably(file, `${name}\n`);
    return name;
  }

  static #parseOpenFile(data: Buffer): {
    entries: SpoolEntry[];
    tornBytes: number;
  } {
    const text = data.toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    // A last line without its line break was being written when the process
    // died: it was never acknowledged, so it is dropped.
    const tornBytes = Buffer.byteLength(text.slice(end));
    const entries: SpoolEntry[] = [];
    for (const raw of text.slice(0, end).split('\n')) {
      if (raw === '') continue;
      const m = OPEN_LINE.exec(raw);
      if (!m) continue;
      entries.push({ timeMs: Number(m[1]), line: m[2] });
    }
    return { entries, tornBytes };
  }

  static async #readSealedHeader(
    file: string,
    describe: string,
  ): Promise<SealedBatch> {
    const handle = await fs.open(file, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(
        Buffer.alloc(4096),
        0,
        4096,
        0,
      );
      const nl = buffer.subarray(0, bytesRead).indexOf(10);
      const h = JSON.parse(buffer.subarray(0, nl).toString('utf8'));
      if (
        typeof h.key !== 'string' ||
        !Number.isSafeInteger(h.first) ||
        !Number.isSafeInteger(h.last)
      ) {
        throw new Error('bad header');
      }
      return {
        file,
        key: h.key,
        first: h.first,
        last: h.last,
        records: h.records,
        bytes: h.bytes,
      };
    } catch (e) {
      // Batch files are renamed into place whole, so this is disk damage or
      // tampering: stop rather than upload or delete something unknown.
      throw new Error(
        `${describe}: ${file} is not a readable spooled batch (${e}); move it out of the spool directory to start`,
      );
    } finally {
      await handle.close();
    }
  }

  /** The object body of a sealed batch: the file past its header line. */
  static async readBody(batch: SealedBatch): Promise<Buffer> {
    const data = await fs.readFile(batch.file);
    return data.subarray(data.indexOf(10) + 1);
  }

  /** The instance name keys use. */
  get instance(): string {
    return this.#instance;
  }

  /** Uncompressed bytes of every record in the spool, open and sealed: what `spoolMaxBytes` bounds. */
  get usedBytes(): number {
    return this.#sealedBytes + (this.#open?.bytes ?? 0);
  }

  get openBatch(): OpenBatchState | undefined {
    return this.#open;
  }

  /**
   * Appends entries to the open batch (creating it) and makes them durable
   * (fdatasync) before resolving. On failure nothing is acknowledged: the
   * next append overwrites whatever part was written.
   */
  async append(entries: readonly SpoolEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const open = this.#open ?? (await this.#createOpen(this.#nextSeq));
    const text = entries
      .map(e => `${Math.trunc(e.timeMs)} ${e.line}\n`)
      .join('');
    const data = Buffer.from(text);
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await open.handle.write(
        data,
        written,
        data.length - written,
        open.length + written,
      );
      written += bytesWritten;
    }
    await open.handle.datasync();
    open.length += data.length;
    for (const e of entries) {
      open.lines.push(e.line);
      open.bytes += lineBytes(e.line);
      open.records += 1;
      open.earliestMs = Math.min(open.earliestMs, e.timeMs);
    }
  }

  async #createOpen(first: number): Promise<OpenBatch> {
    const file = path.join(this.#dir, `open-${first}.lines`);
    const handle = await fs.open(file, 'w', 0o600);
    try {
      await fsyncDir(this.#dir); // the file's name must survive a power loss, or its records would not
    } catch (e) {
      await handle.close();
      throw e;
    }
    this.#open = {
      file,
      handle,
      length: 0,
      lines: [],
      first,
      records: 0,
      bytes: 0,
      earliestMs: Infinity,
    };
    return this.#open;
  }

  /**
   * Seals the open batch: gzips its lines into a batch file under the key
   * `keyFor` gives, advances the sequence and removes the open file.
   */
  async seal(
    keyFor: (batch: {
      first: number;
      last: number;
      earliestMs: number;
    }) => string,
  ): Promise<SealedBatch | undefined> {
    const open = this.#open;
    if (!open || open.records === 0) return undefined;
    const sealed = await this.#writeSealed(
      {
        first: open.first,
        earliestMs: open.earliestMs,
        lines: open.lines,
        bytes: open.bytes,
      },
      keyFor,
    );
    this.#open = undefined;
    // The batch is sealed whatever happens next: an open file left behind
    // is recognised as sealed (first < sequence) and removed at the next start.
    await open.handle.close().catch(() => {});
    await fs.rm(open.file, { force: true }).catch(() => {});
    return sealed;
  }

  /**
   * Seals entries a previous run left in its open batch, under their
   * original first sequence number.
   */
  async sealRecovered(
    recovered: { entries: SpoolEntry[]; first: number },
    keyFor: (batch: {
      first: number;
      last: number;
      earliestMs: number;
    }) => string,
  ): Promise<SealedBatch> {
    const lines = recovered.entries.map(e => e.line);
    const sealed = await this.#writeSealed(
      {
        first: recovered.first,
        earliestMs: recovered.entries.reduce(
          (m, e) => Math.min(m, e.timeMs),
          Infinity,
        ),
        lines,
        bytes: lines.reduce((s, l) => s + lineBytes(l), 0),
      },
      keyFor,
    );
    await fs
      .rm(path.join(this.#dir, `open-${recovered.first}.lines`), {
        force: true,
      })
      .catch(() => {}); // recognised as sealed at the next start
    return sealed;
  }

  async #writeSealed(
    batch: {
      first: number;
      earliestMs: number;
      lines: string[];
      bytes: number;
    },
    keyFor: (batch: {
      first: number;
      last: number;
      earliestMs: number;
    }) => string,
  ): Promise<SealedBatch> {
    const first = batch.first;
    const last = first + batch.lines.length - 1;
    const key = keyFor({ first, last, earliestMs: batch.earliestMs });
    const body = await gzip(Buffer.from(`${batch.lines.join('\n')}\n`));
    const header = JSON.stringify({
      v: 1,
      key,
      first,
      last,
      records: batch.lines.length,
      bytes: batch.bytes,
    });
    const file = path.join(this.#dir, `${first}-${last}.batch`);
    await writeFileDurably(
      file,
      Buffer.concat([Buffer.from(`${header}\n`), body]),
    );
    // Only now, with the batch durable, are its numbers used up.
    this.#nextSeq = Math.max(this.#nextSeq, last + 1);
    await writeFileDurably(
      path.join(this.#dir, 'sequence'),
      `${this.#nextSeq}\n`,
    );
    this.#sealedBytes += batch.bytes;
    return {
      file,
      key,
      first,
      last,
      records: batch.lines.length,
      bytes: batch.bytes,
    };
  }

  /** Removes an uploaded batch. */
  async remove(batch: SealedBatch): Promise<void> {
    await fs.rm(batch.file, { force: true });
    this.#sealedBytes -= batch.bytes;
  }

  /** Closes the open file (keeping it for the next start) and releases the lock. */
  async close(): Promise<void> {
    await this.#open?.handle.close().catch(() => {});
    this.#open = undefined;
    await this.#lock.release();
  }
}
