import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LoggerService } from '@backstage/backend-plugin-api';
import crypto from 'node:crypto';
import { SealedBatch, Spool } from './spool/Spool';

/**
 * Backoff between failed attempts at the head batch.
 *
 * @public
 */
export interface RetryOptions {
  /** Delay after the first failure. Default 1000. */
  initialDelayMs?: number;
  /** Upper bound of the doubling delay. Default 15000. */
  maxDelayMs?: number;
}

/**
 * Backoff while shutdown drains the spool: the remaining time is short, so a
 * store that just came back must not wait out a long backoff.
 */
const DRAIN_RETRY_MS = 500;

/** A failed attempt's description for the log: no credential in it, ever. */
function describeError(e: unknown, secrets: readonly string[]): string {
  const err = e as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = err?.$metadata?.httpStatusCode;
  let text = `${err?.name ?? 'Error'}${err?.code ? ` ${err.code}` : ''}${
    status ? ` (HTTP ${status})` : ''
  }: ${err?.message ?? String(e)}`;
  for (const s of secrets) text = text.split(s).join('***');
  return text;
}

/**
 * Uploads sealed batches one at a time, in sequence order, each with a
 * single PutObject of its spooled bytes under its spooled key, retrying the
 * head batch with backoff until it succeeds. A retry after a PUT whose reply
 * was lost writes the same bytes to the same key again, so no record appears
 * twice. Only `s3:PutObject` is used.
 */
export class Uploader {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #spool: Spool;
  readonly #logger: LoggerService;
  readonly #timeoutMs: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #secrets: readonly string[];
  readonly #queue: SealedBatch[] = [];
  readonly #stopSignal = new AbortController();
  #wake: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #running: Promise<void>;
  #draining = false;

  private constructor(options: {
    client: S3Client;
    bucket: string;
    spool: Spool;
    logger: LoggerService;
    timeoutMs: number;
    retry?: RetryOptions;
    secrets: readonly string[];
  }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#spool = options.spool;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs;
    this.#initialDelayMs = options.retry?.initialDelayMs ?? 1000;
    this.#maxDelayMs = options.retry?.maxDelayMs ?? 15_000;
    this.#secrets = options.secrets.filter(s => s.length > 0);
    this.#running = this.#run();
  }

  /** Starts uploading; `backlog` (batches a previous run left) goes first. */
  static start(options: {
    client: S3Client;
    bucket: string;
    spool: Spool;
    logger: LoggerService;
    timeoutMs: number;
    retry?: RetryOptions;
    /** Strings scrubbed from every logged error (the configured credentials). */
    secrets: readonly string[];
    backlog: readonly SealedBatch[];
  }): Uploader {
    const uploader = new Uploader(options);
    for (const b of options.backlog) uploader.enqueue(b);
    return uploader;
  }

  /** Batches not yet uploaded. */
  get pending(): number {
    return this.#queue.length;
  }

  enqueue(batch: SealedBatch): void {
    this.#queue.push(batch);
    this.#wake?.();
  }

  /**
   * Resolves true once every queued batch is uploaded, or false when the
   * deadline passes first (the in-flight PUT is then aborted and its batch
   * stays spooled). Uploading stops either way.
   */
  async drain(deadline: number): Promise<boolean> {
    // Cut a backoff short: with the time left, retry now, then every 0.5 s.
    this.#draining = true;
    this.#wake?.();
    const idle = new Promise<void>(resolve => {
      if (this.#queue.length === 0) resolve();
      else this.#idleWaiters.push(resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>(resolve => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([idle, timedOut]);
    clearTimeout(timer);
    this.#stopSignal.abort();
    this.#wake?.();
    await this.#running;
    return this.#queue.length === 0;
  }

  async #run(): Promise<void> {
    const stop = this.#stopSignal.signal;
    let failures = 0;
    while (!stop.aborted) {
      const batch = this.#queue[0];
      if (!batch) {
        for (const w of this.#idleWaiters.splice(0)) w();
        await new Promise<void>(resolve => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      try {
        await this.#put(batch, stop);
        this.#queue.shift();
        await this.#spool.remove(batch);
        if (failures > 0) {
          this.#logger.info(
            `Audit archive: ${batch.key} uploaded after ${failures} failed attempts`,
          );
        }
        failures = 0;
      } catch (e) {
        if (stop.aborted) break;
        failures += 1;
        // First failure of an outage, then every tenth: loud, not flooding.
        if (failures === 1 || failures % 10 === 0) {
          this.#logger.warn(
            `Audit archive: upload of ${batch.key} failed (attempt ${failures}; ${
              this.#queue.length
            } batches waiting in the spool): ${describeError(e, this.#secrets)}`,
          );
        }
        const backoff = Math.min(
          this.#maxDelayMs,
          this.#initialDelayMs * 2 ** Math.min(failures - 1, 20),
        );
        const delay = this.#draining
          ? Math.min(backoff, DRAIN_RETRY_MS)
          : backoff;
        await new Promise<void>(resolve => {
          const t = setTimeout(resolve, delay);
          this.#wake = () => {
            if (stop.aborted || this.#draining) {
              clearTimeout(t);
              resolve();
            }
          };
        });
        this.#wake = undefined;
      }
    }
  }

  async #put(batch: SealedBatch, stop: AbortSignal): Promise<void> {
    const body = await Spool.readBody(batch);
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: batch.key,
        Body: body,
        ContentType: 'application/gzip',
        // The store checks the bytes it received against this.
        ContentMD5: crypto.createHash('md5').update(body).digest('base64'),
      }),
      {
        abortSignal: AbortSignal.any([
          stop,
          AbortSignal.timeout(this.#timeoutMs),
        ]),
      },
    );
  }
}
