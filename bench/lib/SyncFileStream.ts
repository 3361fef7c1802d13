import fs from 'node:fs';
import { Writable } from 'node:stream';

/**
 * A Writable that writes every chunk to a file descriptor with one
 * `fs.writeSync`, as `process.stdout` does when it is redirected to a file.
 * Every stream-based variant of the micro-benchmark writes through one of
 * these, so they all pay the same destination cost.
 */
export class SyncFileStream extends Writable {
  constructor(readonly fd: number) {
    super({ decodeStrings: false });
  }

  override _write(
    chunk: string | Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    try {
      if (typeof chunk === 'string') {
        fs.writeSync(this.fd, chunk);
      } else {
        fs.writeSync(this.fd, chunk);
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  /** Opens `file` for appending (so truncating it between runs restarts it at 0). */
  static open(file: string): SyncFileStream {
    return new SyncFileStream(fs.openSync(file, 'a'));
  }
}

/** Keeps every line written to it, in memory. */
export class LineCollector extends Writable {
  readonly lines: string[] = [];

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(
    chunk: string | Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    for (const line of String(chunk).split('\n')) {
      if (line) {
        this.lines.push(line);
      }
    }
    callback();
  }
}
