import type { Writable } from 'node:stream';
import type {
  AuditSinkEntry,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';

/**
 * Writes lines to a stream, stdout by default: cluster logging collects
 * audit records there and filters them on `isAuditLog`. Writes to pipes and
 * files are synchronous in Node on Linux, so a returned write is in the
 * kernel's hands. A stream that is closed or has failed makes every later
 * write throw, so each lost record is counted (Node drops writes to a closed
 * stream silently).
 */
/** The first error of each stream, watched by one listener per stream. */
const failures = new WeakMap<Writable, { error?: Error }>();

function watch(stream: Writable): { error?: Error } {
  let state = failures.get(stream);
  if (!state) {
    const watched: { error?: Error } = {};
    stream.on('error', error => {
      watched.error ??= error;
    });
    failures.set(stream, watched);
    state = watched;
  }
  return state;
}

export class StdoutTransport implements AuditSinkTransport {
  readonly #stream: Writable;
  readonly #state: { error?: Error };

  static create(options: { stream?: Writable } = {}): StdoutTransport {
    return new StdoutTransport(options.stream ?? process.stdout);
  }

  private constructor(stream: Writable) {
    this.#stream = stream;
    this.#state = watch(stream);
  }

  writeSync(text: string): void {
    const stream = this.#stream;
    if (this.#state.error) {
      throw this.#state.error;
    }
    if (stream.destroyed || stream.writableEnded) {
      throw new Error('the output stream is closed');
    }
    stream.write(text);
  }

  async deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    let text = '';
    for (const entry of entries) {
      text += `${entry.line}\n`;
    }
    this.writeSync(text);
  }
}
