import { ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';

/** A message between the bench driver and a child process. */
export interface BenchMessage {
  type: string;
  [key: string]: unknown;
}

export interface ChildOptions {
  args?: string[];
  /** Extra node flags, e.g. `--expose-gc`. `--import tsx` is always added. */
  execArgv?: string[];
  /** File that receives the child's stdout and stderr. Default: inherited stderr, no stdout. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** How long the child may take to send its result. Default 10 minutes. */
  timeoutMs?: number;
}

/** A child process running a TypeScript file, talking over IPC. */
export class BenchChild {
  readonly process: ChildProcess;
  readonly logFile?: string;
  #queue: BenchMessage[] = [];
  #waiters: Array<(m: BenchMessage) => void> = [];
  #exited?: Promise<number | null>;
  #exitCode: number | null | undefined = undefined;

  constructor(script: string, options: ChildOptions = {}) {
    this.logFile = options.logFile;
    const out = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
    const err = options.logFile ? out : 'inherit';
    this.process = fork(script, options.args ?? [], {
      execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
      stdio: ['ignore', out, err, 'ipc'],
      env: { ...process.env, ...options.env },
    });
    if (typeof out === 'number') {
      fs.closeSync(out);
    }
    this.process.on('message', m => {
      const message = m as BenchMessage;
      const waiter = this.#waiters.shift();
      if (waiter) {
        waiter(message);
      } else {
        this.#queue.push(message);
      }
    });
    this.#exited = new Promise(resolve => {
      this.process.on('exit', code => {
        this.#exitCode = code;
        for (const w of this.#waiters.splice(0)) {
          w({ type: 'exit', code });
        }
        resolve(code);
      });
    });
  }

  /** The next message from the child; fails if the child exits or sends an error. */
  async next(timeoutMs = 600_000): Promise<BenchMessage> {
    const queued = this.#queue.shift();
    let message: BenchMessage;
    if (queued) {
      message = queued;
    } else if (this.#exitCode !== undefined) {
      message = { type: 'exit', code: this.#exitCode };
    } else {
      message = await new Promise<BenchMessage>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child sent nothing for ${timeoutMs} ms`)),
          timeoutMs,
        );
        this.#waiters.push(m => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    }
    if (message.type === 'error' || message.type === 'exit') {
      throw new Error(
        `child ${message.type}: ${String(message.message ?? message.code)}${this.#logTail()}`,
      );
    }
    return message;
  }

  send(message: BenchMessage): void {
    this.process.send(message);
  }

  /** Waits for the child to exit; kills it (by its pid) after `timeoutMs`. */
  async exit(timeoutMs = 30_000): Promise<number | null> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.#exited!;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.#exitCode === undefined && this.process.pid) {
      try {
        process.kill(this.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  #logTail(): string {
    if (!this.logFile || !fs.existsSync(this.logFile)) {
      return '';
    }
    const text = fs.readFileSync(this.logFile, 'utf8');
    return `\n--- last lines of ${this.logFile} ---\n${text.slice(-3000)}`;
  }
}

/** Runs a child to completion and returns the data of its `result` message. */
export async function runChild<T>(
  script: string,
  options: ChildOptions = {},
): Promise<T> {
  const child = new BenchChild(script, options);
  try {
    const message = await child.next(options.timeoutMs);
    if (message.type !== 'result') {
      throw new Error(`unexpected message ${message.type}`);
    }
    await child.exit();
    return message.data as T;
  } finally {
    child.kill();
  }
}

/** In a child: sends the result to the driver, or prints it when run directly. */
export function sendResult(data: unknown): Promise<void> {
  if (process.send) {
    return new Promise(resolve =>
      process.send!({ type: 'result', data }, () => resolve()),
    );
  }
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  return Promise.resolve();
}

/** In a child: reports a failure to the driver and exits non-zero. */
export function failChild(error: unknown): void {
  const message =
    error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (process.send) {
    process.send({ type: 'error', message }, () => process.exit(1));
  } else {
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}
