import { S3Client } from '@aws-sdk/client-s3';
import {
  AuditSinkCloseOptions,
  AuditSinkEntry,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import { LoggerService } from '@backstage/backend-plugin-api';
import { S3ArchiveConfig } from './config';
import { objectKey } from './objectKeys';
import { createS3Client } from './s3Client';
import { lineBytes, SealedBatch, Spool, SpoolEntry } from './spool/Spool';
import { RetryOptions, Uploader } from './Uploader';

/** Why records are dropped, in the words the backend's log uses. */
const DROP_REASONS: Record<string, (config: S3ArchiveConfig) => string> = {
  'spool-full': c =>
    `the spool holds spoolMaxBytes (${c.spoolMaxBytes} bytes of records) because the store is unreachable or slower than the records arrive; uploads make room again`,
  'line-break': () =>
    'the format rendered a line break inside a record, which would split it into two lines of the object',
};

/**
 * Options of {@link S3ArchiveTransport.create}.
 *
 * @public
 */
export interface S3ArchiveTransportOptions {
  config: S3ArchiveConfig;
  logger: LoggerService;
  /** The sink context's drop counter. */
  dropped(count: number, reason: string, error?: unknown): void;
  /** How errors name the sink's block (`auditLog.sinks.archive`). */
  configKey: string;
  /** Upload retry backoff; the defaults suit production. */
  retry?: RetryOptions;
  /** A client to use instead of one built from `config`. */
  client?: S3Client;
}

/**
 * The `s3` sink's transport. `deliver` appends the entries to the open batch
 * in the spool directory and resolves once they are fsync'ed there; a batch
 * is sealed (gzip, final key) at `batchMaxRecords`, at `batchMaxBytes`, or
 * when its earliest record is `maxDelaySeconds` old, and uploaded in order
 * by an `Uploader`. See the package README for the guarantees.
 *
 * @public
 */
export class S3ArchiveTransport implements AuditSinkTransport {
  readonly #config: S3ArchiveConfig;
  readonly #spool: Spool;
  readonly #uploader: Uploader;
  readonly #logger: LoggerService;
  readonly #dropped: S3ArchiveTransportOptions['dropped'];
  readonly #client: S3Client;
  readonly #ownsClient: boolean;
  /** Serialises deliveries, age-triggered seals and close. */
  #lock: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #timerDeadline = Infinity;
  /** Set when the open batch's first record arrived: age is measured from min(record timestamp, arrival). */
  #deadline = Infinity;
  #closed = false;
  /** A delivery that failed part-way: its first entry and how many of its entries were already handled. */
  #partial: { entry: AuditSinkEntry; done: number } | undefined;

  private constructor(options: {
    config: S3ArchiveConfig;
    spool: Spool;
    uploader: Uploader;
    logger: LoggerService;
    dropped: S3ArchiveTransportOptions['dropped'];
    client: S3Client;
    ownsClient: boolean;
  }) {
    this.#config = options.config;
    this.#spool = options.spool;
    this.#uploader = options.uploader;
    this.#logger = options.logger;
    this.#dropped = options.dropped;
    this.#client = options.client;
    this.#ownsClient = options.ownsClient;
  }

  /**
   * Opens the spool directory (taking its lock), seals an open batch a
   * crashed run left, and starts uploading what is spooled, oldest first.
   * Makes no request to the store before the first upload.
   */
  static async create(
    options: S3ArchiveTransportOptions,
  ): Promise<S3ArchiveTransport> {
    const { config, logger } = options;
    const { spool, sealed, recovered } = await Spool.open({
      dir: config.spoolDir,
      instance: config.instance,
      describe: `${options.configKey}.spoolDir`,
    });
    const backlog: SealedBatch[] = [...sealed];
    try {
      if (recovered) {
        if (recovered.tornBytes > 0) {
          logger.warn(
            `Audit archive: the open batch left by the previous run ended in ${recovered.tornBytes} bytes of an unfinished write (never acknowledged); they are left out`,
          );
        }
        backlog.push(
          await spool.sealRecovered(recovered, b =>
            objectKey(S3ArchiveTransport.#scope(config, spool), b),
          ),
        );
      }
    } catch (e) {
      await spool.close();
      throw e;
    }
    if (backlog.length > 0) {
      logger.info(
        `Audit archive: ${backlog.length} batches left by a previous run are uploaded first`,
      );
    }
    const client = options.client ?? createS3Client(config);
    const uploader = Uploader.start({
      client,
      bucket: config.bucket,
      spool,
      logger,
      timeoutMs: config.uploadTimeoutSeconds * 1000,
      retry: options.retry,
      secrets: config.credentials
        ? [config.credentials.secretAccessKey, config.credentials.accessKeyId]
        : [],
      backlog,
    });
    return new S3ArchiveTransport({
      config,
      spool,
      uploader,
      logger,
      dropped: options.dropped,
      client,
      ownsClient: !options.client,
    });
  }

  static #scope(config: S3ArchiveConfig, spool: Spool) {
    return {
      prefix: config.prefix,
      project: config.project,
      instance: spool.instance,
    };
  }

  /** The instance name in this transport's keys (configured or generated). */
  get instance(): string {
    return this.#spool.instance;
  }

  deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    return this.#exclusive(() => this.#deliver(entries));
  }

  async #deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    if (this.#closed) throw new Error('The audit archive sink is closed');
    // The pipeline redelivers a rejected batch whole; skip what a failed
    // attempt already spooled, so the retry adds nothing twice.
    let start = 0;
    if (this.#partial && entries[0] === this.#partial.entry) {
      start = this.#partial.done;
    }
    this.#partial = undefined;

    const { batchMaxBytes, batchMaxRecords, spoolMaxBytes } = this.#config;
    const now = Date.now();
    let pending: SpoolEntry[] = [];
    let pendingBytes = 0;
    // entries[0, done) are spooled or counted as dropped; entries[done,
    // cursor) are pending, or dropped provisionally: a failed write has them
    // handled again by the retry, so their drops count only once committed.
    let done = start;
    let cursor = start;
    const drops = {
      committed: new Map<string, number>(),
      provisional: new Map<string, number>(),
    };
    const commit = () => {
      done = cursor;
      for (const [reason, n] of drops.provisional) {
        drops.committed.set(reason, (drops.committed.get(reason) ?? 0) + n);
      }
      drops.provisional.clear();
    };
    const drop = (reason: string) => {
      drops.provisional.set(reason, (drops.provisional.get(reason) ?? 0) + 1);
      if (pending.length === 0) commit();
    };
    const flush = async () => {
      if (pending.length > 0) {
        await this.#spool.append(pending);
        let earliest = now;
        for (const e of pending) earliest = Math.min(earliest, e.timeMs);
        this.#deadline = Math.min(
          this.#deadline,
          earliest + this.#config.maxDelaySeconds * 1000,
        );
        pending = [];
        pendingBytes = 0;
      }
      commit();
    };

    try {
      for (let i = start; i < entries.length; i++) {
        const { record, line } = entries[i];
        cursor = i + 1;
        if (line.includes('\n') || line.includes('\r')) {
          // A format broke its contract; the line would become two records
          // in the object. Counted, never written.
          drop('line-break');
          continue;
        }
        const size = lineBytes(line);
        const open = this.#spool.openBatch;
        const openRecords = (open?.records ?? 0) + pending.length;
        const openBytes = (open?.bytes ?? 0) + pendingBytes;
        if (
          openRecords > 0 &&
          (openRecords + 1 > batchMaxRecords ||
            openBytes + size > batchMaxBytes)
        ) {
          cursor = i; // this entry is not in the flush
          await flush();
          await this.#seal();
          cursor = i + 1;
        }
        if (this.#spool.usedBytes + pendingBytes + size > spoolMaxBytes) {
          drop('spool-full');
          continue;
        }
        const parsed = Date.parse(record.timestamp);
        pending.push({ line, timeMs: Number.isFinite(parsed) ? parsed : now });
        pendingBytes += size;
      }
      cursor = entries.length;
      await flush();
      const open = this.#spool.openBatch;
      if (
        open &&
        (open.records >= batchMaxRecords ||
          open.bytes >= batchMaxBytes ||
          Date.now() >= this.#deadline)
      ) {
        await this.#seal();
      }
      this.#schedule();
    } catch (e) {
      this.#partial = done > 0 ? { entry: entries[0], done } : undefined;
      this.#schedule();
      throw e;
    } finally {
      for (const [reason, n] of drops.committed) {
        // With an error, so the pipeline reports the loss on the backend's
        // log (rate-limited), not only in its counters.
        this.#dropped(
          n,
          reason,
          new Error(
            `${n} records not archived (${reason}): ${DROP_REASONS[reason](this.#config)}`,
          ),
        );
      }
    }
  }

  /** Seals the open batch and hands it to the uploader. Runs inside the lock. */
  async #seal(): Promise<void> {
    const sealed = await this.#spool.seal(b =>
      objectKey(S3ArchiveTransport.#scope(this.#config, this.#spool), b),
    );
    this.#deadline = Infinity;
    if (sealed) this.#uploader.enqueue(sealed);
  }

  /** Keeps one timer armed at the open batch's age deadline. */
  #schedule(): void {
    if (this.#deadline === this.#timerDeadline) return;
    clearTimeout(this.#timer);
    this.#timerDeadline = this.#deadline;
    if (this.#deadline === Infinity || this.#closed) return;
    this.#timer = setTimeout(
      () => {
        this.#timerDeadline = Infinity;
        this.#exclusive(async () => {
          if (this.#closed) return;
          if (Date.now() >= this.#deadline) await this.#seal();
          this.#schedule();
        }).catch(e => {
          this.#logger.error(
            `Audit archive: sealing a batch failed; retrying in 1 s: ${e}`,
          );
          this.#timerDeadline = Infinity;
          this.#deadline = Math.max(this.#deadline, Date.now() + 1000);
          this.#schedule();
        });
      },
      Math.max(0, this.#deadline - Date.now()),
    );
    this.#timer.unref();
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /**
   * Seals the open batch and uploads what is spooled, for at most
   * `closeTimeoutSeconds` and never past the pipeline's shutdown deadline
   * (`auditLog.shutdownTimeoutMs`), so the audit log's share of a shutdown
   * has one bound; what is left stays in the spool for the next start.
   * Releases the spool directory.
   */
  async close(options?: AuditSinkCloseOptions): Promise<void> {
    const deadline = Math.min(
      Date.now() + this.#config.closeTimeoutSeconds * 1000,
      options?.deadline ?? Infinity,
    );
    await this.#exclusive(async () => {
      if (this.#closed) return;
      this.#closed = true;
      clearTimeout(this.#timer);
      try {
        await this.#seal();
      } catch (e) {
        // The open file stays; the next start seals it.
        this.#logger.error(
          `Audit archive: sealing the open batch on shutdown failed: ${e}`,
        );
      }
      const uploaded = await this.#uploader.drain(deadline);
      if (!uploaded) {
        this.#logger.warn(
          `Audit archive: ${this.#uploader.pending} batches could not be uploaded before the shutdown deadline; they stay in ${this.#config.spoolDir} for the next start`,
        );
      }
      await this.#spool.close();
      if (this.#ownsClient) this.#client.destroy();
    });
  }
}
