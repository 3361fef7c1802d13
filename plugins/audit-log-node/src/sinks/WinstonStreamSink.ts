import { Writable } from 'node:stream';
import * as winston from 'winston';
import { MESSAGE } from 'triple-beam';
import { AuditLevel, AuditRecord } from '../record';
import { AuditSink, AuditSinkStats } from './types';

/** @public */
export interface WinstonStreamSinkOptions {
  /** Where lines go. Default `process.stdout`: cluster logging collects it there. */
  stream?: Writable;
  /** Records below this level are not written. Default `info`. */
  level?: AuditLevel;
  /** Called when the stream reports an error; the record is counted as failed. */
  onError?: (error: Error) => void;
}

const LINE = Symbol('auditLine');

interface LineInfo extends winston.Logform.TransformableInfo {
  [LINE]: string;
}

/**
 * Writes each record as one JSON line through a dedicated winston logger, so
 * adopters keep winston's transports and levels, while the line itself is the
 * bytes serialized once by the pipeline: winston's own JSON format would
 * re-serialize every record, and cost twice as much.
 *
 * The logger is separate from Backstage's root logger: audit lines never mix
 * with ordinary logs' formats, and ordinary logs never pass through here.
 *
 * @public
 */
export class WinstonStreamSink implements AuditSink {
  readonly name = 'stdout';
  readonly #logger: winston.Logger;
  readonly #stream: Writable;
  #written = 0;
  #failed = 0;
  readonly #onError?: (error: Error) => void;

  static create(options: WinstonStreamSinkOptions = {}): WinstonStreamSink {
    return new WinstonStreamSink(options);
  }

  private constructor(options: WinstonStreamSinkOptions) {
    this.#onError = options.onError;
    const useLine = winston.format(info => {
      const i = info as LineInfo;
      (i as Record<symbol, unknown>)[MESSAGE] = i[LINE];
      return i;
    });
    const stream = options.stream ?? process.stdout;
    this.#stream = stream;
    const transport = new winston.transports.Stream({ stream, eol: '\n' });
    this.#logger = winston.createLogger({
      levels: winston.config.npm.levels,
      level: options.level ?? 'info',
      format: useLine(),
      transports: [transport],
      exitOnError: false,
    });
    // One stream error can surface on the stream, the transport and the logger: count it once.
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
    this.#logger.on('error', fail);
    transport.on('error', fail);
    stream.on('error', fail);
  }

  write(record: AuditRecord, line: string): void {
    if (!this.#logger.isLevelEnabled(record.level)) {
      return;
    }
    if (this.#stream.destroyed || this.#stream.writableEnded) {
      // Node drops writes to a closed stream without an 'error' event.
      this.#failed++;
      return;
    }
    try {
      const info = { level: record.level, message: '', [LINE]: line };
      this.#logger.log(info as unknown as winston.LogEntry);
      this.#written++;
    } catch (error) {
      this.#failed++;
      this.#onError?.(error as Error);
    }
  }

  async flush(): Promise<void> {
    // Writes reach the stream synchronously; nothing is queued here.
  }

  stats(): AuditSinkStats {
    return { written: this.#written, failed: this.#failed, dropped: 0, queued: 0 };
  }
}
