import fs from 'node:fs';
import path from 'node:path';
import type { LoggerService } from '@backstage/backend-plugin-api';
import type {
  AuditSinkEntry,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import type { FileSinkOptions } from './fileSinkOptions';
import { RotatedFileKeeper } from './RotatedFileKeeper';
import { RotatedFiles } from './RotatedFiles';

const NEWLINE = 0x0a;
/** setTimeout's longest delay; longer ages are waited out in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** @public */
export interface RotatingFileTransportOptions extends FileSinkOptions {
  logger: LoggerService;
  /** Full config key of the sink's block, named in start-up errors. */
  configKey: string;
}

/**
 * Appends lines to a file and rotates it by size and age.
 *
 * Every append is one synchronous `write(2)` per file (a batch that crosses
 * the size limit is cut at a line break, the rest going to the next file),
 * so a returned write is in the kernel's page cache: a process crash loses
 * nothing written. Appends are not fsynced; the file is synced on close.
 * Rotation happens only between lines, inside the same synchronous call, so
 * no line is ever split across files and no write can slip in between.
 *
 * The file only ever ends at a line break: a failed write is cut back to the
 * last whole line, and at start-up an incomplete last line (a host crash in
 * mid-write) is removed, with a warning.
 */
export class RotatingFileTransport implements AuditSinkTransport {
  readonly #path: string;
  readonly #maxBytes?: number;
  readonly #maxAgeMs?: number;
  readonly #logger: LoggerService;
  readonly #files: RotatedFiles;
  readonly #keeper: RotatedFileKeeper;
  #fd: number;
  /** Bytes of whole lines in the live file. */
  #size: number;
  /** A failed write may have left bytes past #size. */
  #dirty = false;
  /** When the live file got its first line (epoch ms); undefined while empty. */
  #startedAt?: number;
  #ageTimer?: NodeJS.Timeout;
  #rotationFailing = false;
  /** Where a failed delivery stopped, so its retry writes no line twice. */
  #resume?: { first: AuditSinkEntry; written: number };
  #closed = false;

  /**
   * Opens (creating the directory and file if needed) and settles what
   * earlier runs left: an incomplete last line, an interrupted compression,
   * rotated files beyond `keep`. Throws an error naming `<configKey>.path`
   * if the file cannot be opened for appending.
   */
  static create(options: RotatingFileTransportOptions): RotatingFileTransport {
    const key = `${options.configKey}.path`;
    const fail = (what: string, error: unknown) =>
      new Error(
        `Invalid config at ${key}: ${what} '${options.path}': ${
          (error as Error).message
        }`,
      );
    try {
      fs.mkdirSync(path.dirname(options.path), {
        recursive: true,
        mode: 0o750,
      });
    } catch (error) {
      throw fail('cannot create the directory of', error);
    }
    let fd: number;
    try {
      fd = fs.openSync(options.path, 'a+', 0o640);
    } catch (error) {
      throw fail('cannot open', error);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) {
        throw new Error('not a regular file');
      }
      const size = cutToLastLine(fd, stat.size, options.logger, options.path);
      const files = RotatedFiles.create(options.path);
      const keeper = RotatedFileKeeper.create({
        files,
        keep: options.keep,
        gzip: options.gzip,
        logger: options.logger,
      });
      keeper.recover();
      return new RotatingFileTransport(options, {
        fd,
        size,
        // A file from an earlier run ages from its creation where the file
        // system records it, else from its last write.
        startedAt:
          size > 0 ? stat.birthtimeMs || stat.mtimeMs || Date.now() : undefined,
        files,
        keeper,
      });
    } catch (error) {
      fs.closeSync(fd);
      throw fail('cannot use', error);
    }
  }

  private constructor(
    options: RotatingFileTransportOptions,
    state: {
      fd: number;
      size: number;
      startedAt?: number;
      files: RotatedFiles;
      keeper: RotatedFileKeeper;
    },
  ) {
    this.#path = options.path;
    this.#maxBytes = options.maxBytes;
    this.#maxAgeMs = options.maxAgeMs;
    this.#logger = options.logger;
    this.#fd = state.fd;
    this.#size = state.size;
    this.#startedAt = state.startedAt;
    this.#files = state.files;
    this.#keeper = state.keeper;
    // A file already past its age from an earlier run rotates right away.
    this.#armAgeTimer();
  }

  /** Appends lines, each already followed by a line break; throws on failure. */
  writeSync(text: string): void {
    this.#append(Buffer.from(text, 'utf8'), { bytes: 0 });
  }

  async deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    // The pipeline retries a failed batch from the same first entry: skip
    // the lines that attempt already wrote.
    const skip =
      this.#resume && this.#resume.first === entries[0]
        ? this.#resume.written
        : 0;
    this.#resume = undefined;
    let text = '';
    for (let i = skip; i < entries.length; i++) {
      text += `${entries[i].line}\n`;
    }
    const progress = { bytes: 0 };
    try {
      this.#append(Buffer.from(text, 'utf8'), progress);
    } catch (error) {
      let written = skip;
      let bytes = progress.bytes;
      while (written < entries.length && bytes > 0) {
        bytes -= Buffer.byteLength(entries[written].line, 'utf8') + 1;
        written++;
      }
      if (written > 0) {
        this.#resume = { first: entries[0], written };
      }
      throw error;
    }
  }

  /**
   * Writes whole lines, rotating before a line that would take the file past
   * `maxBytes` (a line longer than that gets a file of its own) and before
   * writing to a file past its age. `progress.bytes` counts what is written.
   */
  #append(buffer: Buffer, progress: { bytes: number }): void {
    if (this.#closed) {
      throw new Error(`the audit file ${this.#path} is closed`);
    }
    this.#repair();
    if (this.#isOld(Date.now())) {
      this.#rotate();
    }
    const end = buffer.length;
    let offset = 0;
    while (offset < end) {
      let stop = end;
      if (
        this.#maxBytes !== undefined &&
        this.#size + (end - offset) > this.#maxBytes
      ) {
        const room = this.#maxBytes - this.#size;
        const lastBreak =
          room > 0 ? buffer.lastIndexOf(NEWLINE, offset + room - 1) : -1;
        stop = lastBreak >= offset ? lastBreak + 1 : -1;
        if (stop === -1) {
          if (this.#size > 0 && this.#rotate()) {
            continue;
          }
          // An empty file takes one line, however long (a line is never
          // split); a file that cannot be rotated takes the rest rather
          // than lose it.
          const lineEnd = buffer.indexOf(NEWLINE, offset);
          stop = this.#size === 0 && lineEnd !== -1 ? lineEnd + 1 : end;
        }
      }
      this.#write(buffer, offset, stop);
      progress.bytes += stop - offset;
      offset = stop;
    }
  }

  /** One append of buffer[start, end); on failure the file is cut back to its last whole line. */
  #write(buffer: Buffer, start: number, end: number): void {
    let at = start;
    try {
      while (at < end) {
        at += fs.writeSync(this.#fd, buffer, at, end - at);
      }
    } catch (error) {
      this.#dirty = true;
      try {
        this.#repair();
      } catch {
        // Retried before the next write, which fails until it succeeds.
      }
      throw error;
    }
    if (this.#size === 0) {
      this.#startedAt = Date.now();
      this.#armAgeTimer();
    }
    this.#size += end - start;
  }

  #repair(): void {
    if (this.#dirty) {
      fs.ftruncateSync(this.#fd, this.#size);
      this.#dirty = false;
    }
  }

  #isOld(now: number): boolean {
    return (
      this.#maxAgeMs !== undefined &&
      this.#size > 0 &&
      this.#startedAt !== undefined &&
      now - this.#startedAt >= this.#maxAgeMs
    );
  }

  /**
   * Renames the live file to the next rotated name and opens a new one.
   * Returns false, and goes on appending to the current file, if it cannot:
   * a failing rotation costs the size limit, never a record.
   */
  #rotate(): boolean {
    const target = this.#files.next(Date.now());
    let fd: number;
    try {
      this.#repair();
      fs.renameSync(this.#path, target);
      try {
        fd = fs.openSync(this.#path, 'a+', 0o640);
      } catch (error) {
        fs.renameSync(target, this.#path);
        throw error;
      }
    } catch (error) {
      if (!this.#rotationFailing) {
        this.#rotationFailing = true;
        this.#logger.warn(
          `Audit file sink: cannot rotate ${this.#path}, appending to it until it can: ${
            (error as Error).message
          }`,
        );
      }
      return false;
    }
    this.#rotationFailing = false;
    try {
      fs.closeSync(this.#fd);
    } catch {
      // The old descriptor is gone either way.
    }
    this.#fd = fd;
    this.#size = 0;
    this.#startedAt = undefined;
    if (this.#ageTimer) {
      clearTimeout(this.#ageTimer);
      this.#ageTimer = undefined;
    }
    this.#keeper.rotated(path.basename(target));
    return true;
  }

  /** Rotates an old file even when no record arrives; never keeps the process alive. */
  #armAgeTimer(): void {
    if (
      this.#maxAgeMs === undefined ||
      this.#startedAt === undefined ||
      this.#ageTimer ||
      this.#closed
    ) {
      return;
    }
    const wait = Math.min(
      MAX_TIMER_MS,
      Math.max(0, this.#startedAt + this.#maxAgeMs - Date.now()),
    );
    this.#ageTimer = setTimeout(() => {
      this.#ageTimer = undefined;
      if (this.#closed) {
        return;
      }
      if (this.#isOld(Date.now()) && !this.#rotate()) {
        // Try again later rather than in a tight loop.
        this.#ageTimer = setTimeout(
          () => {
            this.#ageTimer = undefined;
            this.#armAgeTimer();
          },
          Math.min(this.#maxAgeMs!, 60_000),
        );
        this.#ageTimer.unref();
        return;
      }
      this.#armAgeTimer();
    }, wait);
    this.#ageTimer.unref();
  }

  /** Resolves once background compression and pruning are done. */
  idle(): Promise<void> {
    return this.#keeper.idle();
  }

  /**
   * Syncs and closes the file (writes are synchronous, so nothing is
   * buffered here), stops the age timer and the background work, and applies
   * `keep` once more.
   */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#ageTimer) {
      clearTimeout(this.#ageTimer);
      this.#ageTimer = undefined;
    }
    await this.#keeper.close();
    try {
      this.#repair();
      fs.fsyncSync(this.#fd);
    } finally {
      fs.closeSync(this.#fd);
    }
  }
}

/**
 * Removes an incomplete last line (a crash in mid-write can leave one, or
 * zeros after a host crash), so the file ends at a line break and the next
 * append starts a line. Returns the new size.
 */
function cutToLastLine(
  fd: number,
  size: number,
  logger: LoggerService,
  file: string,
): number {
  if (size === 0) {
    return 0;
  }
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const read = fs.readSync(fd, chunk, 0, end - start, start);
    const index = chunk.subarray(0, read).lastIndexOf(NEWLINE);
    if (index !== -1) {
      const keep = start + index + 1;
      if (keep === size) {
        return size;
      }
      end = keep;
      break;
    }
    end = start;
  }
  fs.ftruncateSync(fd, end);
  logger.warn(
    `Audit file sink: removed an incomplete last line (${size - end} bytes) from ${file}, left by a crash in mid-write`,
  );
  return end;
}
