import { Writable } from 'node:stream';
import * as winston from 'winston';
import TransportStream from 'winston-transport';
import { LEVEL, MESSAGE } from 'triple-beam';
import { AuditLevel, AuditRecord } from '../record';
import { AuditSink, AuditSinkStats } from './types';

/** @public */
export interface WinstonStreamSinkOptions {
  /** Where the default transport writes lines. Default `process.stdout`: cluster logging collects it there. */
  stream?: Writable;
  /** Records below this level are not written. Default `info`. */
  level?: AuditLevel;
  /**
   * winston transports that receive every record instead of the default one
   * (an {@link AuditLineTransport} on `stream`). Each gets winston's info
   * object with the serialized line as its `MESSAGE`; a transport's own
   * `level`, `silent` and `format` are honoured as winston honours them.
   */
  transports?: TransportStream[];
  /** Called when the stream or a transport reports an error; the record is counted as failed. */
  onError?: (error: Error) => void;
}

const LEVELS: Record<string, number> = winston.config.npm.levels;

type LineInfo = winston.Logform.TransformableInfo & {
  [LEVEL]: string;
  [MESSAGE]: string;
};

const noop = () => {};

/**
 * A winston transport that writes an info's `MESSAGE` as one line, with one
 * `write` per record, and nothing else: the audit pipeline has already
 * serialized the record. Unlike winston's Stream transport it schedules no
 * per-record `logged` event.
 *
 * @public
 */
export class AuditLineTransport extends TransportStream {
  readonly #stream: Writable;

  constructor(options: { stream: Writable; level?: string }) {
    super({ level: options.level });
    this.#stream = options.stream;
  }

  override log(info: LineInfo, callback: () => void): void {
    this.#stream.write(`${info[MESSAGE]}\n`);
    callback();
  }
}

/**
 * Writes each record as one JSON line through winston transports, so
 * adopters keep winston's transports and levels, while the line itself is
 * the bytes serialized once by the pipeline.
 *
 * Each record goes straight to the transports' `log()`, with the checks a
 * winston logger would make (level, `silent`, the transport's format), not
 * through a logger's object-mode stream pipeline: for a line that is already
 * formatted, that pipeline cost more than the write itself (see
 * bench/README.md). The transports are separate from Backstage's root logger:
 * audit lines never mix with ordinary logs' formats, and ordinary logs never
 * pass through here.
 *
 * @public
 */
export class WinstonStreamSink implements AuditSink {
  readonly name = 'stdout';
  readonly #transports: TransportStream[];
  /** The default transport's stream; absent when transports are given. */
  readonly #stream?: Writable;
  /** npm level value of the sink's level; records above it are skipped. */
  readonly #maxLevel: number;
  #written = 0;
  #failed = 0;
  readonly #onError?: (error: Error) => void;

  static create(options: WinstonStreamSinkOptions = {}): WinstonStreamSink {
    return new WinstonStreamSink(options);
  }

  private constructor(options: WinstonStreamSinkOptions) {
    this.#onError = options.onError;
    // An unknown level writes nothing, as winston's isLevelEnabled.
    this.#maxLevel = LEVELS[options.level ?? 'info'] ?? -1;
    if (options.transports?.length) {
      this.#transports = [...options.transports];
    } else {
      this.#stream = options.stream ?? process.stdout;
      this.#transports = [new AuditLineTransport({ stream: this.#stream })];
    }
    // One stream error can surface on the stream and a transport: count it once.
    const counted = new WeakSet<object>();
    const fail = (error: Error) => {
      if (typeof error === 'object' && error !== null) {
        if (counted.has(error)) {
          return;
        }
        counted.add(error);
      }
      this.#failed++;
      this.#onError?.(error);
    };
    for (const transport of this.#transports) {
      transport.on('error', fail);
    }
    if (this.#stream) {
      // As winston's Stream transport: every sink on process.stdout adds a listener.
      this.#stream.setMaxListeners(Infinity);
      this.#stream.on('error', fail);
    }
  }

  write(record: AuditRecord, line: string): void {
    const level = record.level;
    const value = LEVELS[level];
    if (value === undefined || value > this.#maxLevel) {
      return;
    }
    const stream = this.#stream;
    if (stream && (stream.destroyed || stream.writableEnded)) {
      // Node drops writes to a closed stream without an 'error' event.
      this.#failed++;
      return;
    }
    const info: LineInfo = {
      level,
      message: '',
      [LEVEL]: level,
      [MESSAGE]: line,
    };
    try {
      for (const transport of this.#transports) {
        if (
          transport.silent ||
          (transport.level !== undefined &&
            (LEVELS[transport.level] ?? -1) < value)
        ) {
          continue;
        }
        const format = transport.format;
        const out = format
          ? format.transform({ ...info }, format.options)
          : info;
        if (out) {
          transport.log?.(out, noop);
        }
      }
      this.#written++;
    } catch (error) {
      this.#failed++;
      this.#onError?.(error as Error);
    }
  }

  async flush(): Promise<void> {
    // Writes reach the transports synchronously; nothing is queued here.
  }

  stats(): AuditSinkStats {
    return {
      written: this.#written,
      failed: this.#failed,
      dropped: 0,
      queued: 0,
    };
  }
}
