import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { RotatedFiles, Rotation } from './RotatedFiles';

/**
 * Looks after the rotated files of one live file, off the request path:
 * deletes all but the newest `keep` and compresses the rest. One job runs at
 * a time, so pruning never races a compression.
 *
 * Compression is crash-safe by its order of steps: the gzip is written to
 * `<file>.gz.tmp` and synced, renamed to `<file>.gz` (and the directory
 * synced), and only then is the plain file deleted. A crash at any point
 * leaves the plain file, a `.gz.tmp` beside it (incomplete: deleted at the
 * next start, and the file compressed again), or a complete `.gz` beside it
 * (the plain copy is deleted at the next start). Every state counts as one
 * rotation for `keep`.
 */
export class RotatedFileKeeper {
  readonly #files: RotatedFiles;
  readonly #keep?: number;
  readonly #gzip: boolean;
  readonly #logger: LoggerService;
  readonly #abort = new AbortController();
  #jobs: Array<() => Promise<void>> = [];
  #pruneQueued = false;
  #running?: Promise<void>;
  #closed = false;

  static create(options: {
    files: RotatedFiles;
    keep?: number;
    gzip: boolean;
    logger: LoggerService;
  }): RotatedFileKeeper {
    return new RotatedFileKeeper(options);
  }

  private constructor(options: {
    files: RotatedFiles;
    keep?: number;
    gzip: boolean;
    logger: LoggerService;
  }) {
    this.#files = options.files;
    this.#keep = options.keep;
    this.#gzip = options.gzip;
    this.#logger = options.logger;
  }

  /**
   * At start-up, synchronously: settles what a crash interrupted, applies
   * `keep` to what earlier runs left, and queues the compression of rotated
   * files that are still plain.
   */
  recover(): void {
    for (const rotation of this.#files.list()) {
      if (rotation.gzTmp) {
        this.#removeSync(`${rotation.stem}.gz.tmp`);
      }
      if (rotation.gz && rotation.plain) {
        this.#removeSync(rotation.stem);
      }
    }
    this.pruneSync();
    if (this.#gzip) {
      for (const rotation of this.#files.list()) {
        if (rotation.plain && !rotation.gz) {
          this.#enqueue(() => this.#compress(rotation.stem));
        }
      }
    }
  }

  /** After a rotation produced `stem`: prune, then compress it. */
  rotated(stem: string): void {
    if (this.#keep !== undefined && !this.#pruneQueued) {
      this.#pruneQueued = true;
      this.#enqueue(async () => {
        this.#pruneQueued = false;
        for (const name of this.#excess(await this.#files.listAsync())) {
          await fs.promises
            .rm(this.#files.pathOf(name), { force: true })
            .catch(error => this.#warn(`could not delete ${name}`, error));
        }
      });
    }
    if (this.#gzip) {
      this.#enqueue(() => this.#compress(stem));
    }
  }

  /** Deletes the oldest rotations beyond `keep`, now. */
  pruneSync(): void {
    for (const name of this.#excess(this.#files.list())) {
      try {
        this.#removeSync(name);
      } catch (error) {
        this.#warn(`could not delete ${name}`, error);
      }
    }
  }

  /** The files of the rotations beyond `keep`, oldest first. */
  #excess(rotations: Rotation[]): string[] {
    if (this.#keep === undefined) {
      return [];
    }
    const names: string[] = [];
    for (const rotation of rotations.slice(
      0,
      Math.max(0, rotations.length - this.#keep),
    )) {
      if (rotation.plain) {
        names.push(rotation.stem);
      }
      if (rotation.gz) {
        names.push(`${rotation.stem}.gz`);
      }
      if (rotation.gzTmp) {
        names.push(`${rotation.stem}.gz.tmp`);
      }
    }
    return names;
  }

  #removeSync(name: string): void {
    fs.rmSync(this.#files.pathOf(name), { force: true });
  }

  async #compress(stem: string): Promise<void> {
    const source = this.#files.pathOf(stem);
    const tmp = `${source}.gz.tmp`;
    if (!fs.existsSync(source)) {
      return; // pruned meanwhile
    }
    try {
      await pipeline(
        fs.createReadStream(source),
        zlib.createGzip(),
        fs.createWriteStream(tmp, { mode: 0o640 }),
        { signal: this.#abort.signal },
      );
      await syncPath(tmp);
      await fs.promises.rename(tmp, `${source}.gz`);
      await syncPath(this.#files.dir);
      await fs.promises.rm(source, { force: true });
    } catch (error) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      if (!this.#closed) {
        // The plain file stays and still counts for keep; the next start retries.
        this.#warn(`could not compress ${stem}`, error);
      }
    }
  }

  #enqueue(job: () => Promise<void>): void {
    if (this.#closed) {
      return;
    }
    this.#jobs.push(job);
    this.#kick();
  }

  #kick(): void {
    if (this.#running || this.#closed || this.#jobs.length === 0) {
      return;
    }
    this.#running = (async () => {
      // Start on a later turn: a rotation's caller never waits for this.
      await new Promise(resolve => setImmediate(resolve));
      while (this.#jobs.length > 0 && !this.#closed) {
        try {
          await this.#jobs.shift()!();
        } catch (error) {
          this.#warn('housekeeping failed', error);
        }
      }
    })().finally(() => {
      this.#running = undefined;
      this.#kick();
    });
  }

  /** Resolves once every queued job is done (tests, and shutdown). */
  async idle(): Promise<void> {
    while (this.#running) {
      await this.#running;
    }
  }

  /**
   * Stops: a compression in progress is abandoned (its `.gz.tmp` deleted;
   * the next start compresses the file again), then `keep` is applied once
   * more so the directory honours it when the process ends.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#jobs = [];
    this.#abort.abort();
    await this.#running;
    try {
      this.pruneSync();
    } catch (error) {
      this.#warn('could not apply keep on shutdown', error);
    }
  }

  #warn(what: string, error: unknown): void {
    this.#logger.warn(
      `Audit file sink: ${what} in ${this.#files.dir}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}

/** fsync of a file or a directory (Linux allows a read-only descriptor for both). */
async function syncPath(target: string): Promise<void> {
  const handle = await fs.promises.open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
