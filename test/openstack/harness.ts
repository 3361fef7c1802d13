/**
 * Runs OpenStack's own Python code next to the tests: the oslo.messaging
 * notification listener that judges CADF payloads with pycadf
 * (cadf_listener.py), keystonemiddleware's audit middleware around a tiny WSGI
 * app (keystone_app.py), and keystonemiddleware's audit-map code
 * (audit_map_judge.py). Each test starts, waits for and stops its processes;
 * each run gets a RabbitMQ vhost of its own, so parallel runs never see each
 * other's messages and a test can close its own connections only.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CadfEvent } from '@backstage-audit/plugin-audit-log-backend-module-cadf';

const run = promisify(execFile);

/** Debian's python3, where the apt packages python3-pycadf, -oslo.messaging and -keystonemiddleware live. */
export const PYTHON = process.env.CADF_TEST_PYTHON ?? '/usr/bin/python3';
export const OPENSTACK_DIR = __dirname;

/** A short random id for names of this run. */
export function runId(): string {
  return randomBytes(5).toString('hex');
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], {
    timeout: 120_000,
  });
  return stdout;
}

/** A vhost of its own for one test file, guest allowed everything in it. */
export async function createVhost(name: string): Promise<void> {
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
}

export async function deleteVhost(name: string): Promise<void> {
  await rabbitmqctl('delete_vhost', name).catch(() => undefined);
}

/** Waits until RabbitMQ answers pings (after a start_app, for instance). */
export async function waitForBroker(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await run('rabbitmq-diagnostics', ['-q', 'check_running'], {
        timeout: 30_000,
      });
      await run('rabbitmq-diagnostics', ['-q', 'check_port_connectivity'], {
        timeout: 30_000,
      });
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      await new Promise(r => setTimeout(r, 250));
    }
  }
}

export function amqpUrl(vhost: string): string {
  return `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
}

/** The same broker in oslo.messaging's spelling. */
export function rabbitUrl(vhost: string): string {
  return `rabbit://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
}

/** A managed Python process printing one JSON value per line. */
export class PythonProcess<T> {
  readonly lines: T[] = [];
  #stderr = '';
  #child: ChildProcess;
  #exited: Promise<number | null>;
  #waiters = new Set<() => void>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    let buffer = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) {
          this.lines.push(JSON.parse(line) as T);
          this.#waiters.forEach(w => w());
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    this.#exited = new Promise(resolve => {
      child.on('exit', code => {
        this.#waiters.forEach(w => w());
        resolve(code);
      });
    });
  }

  static start<T>(script: string, args: string[]): PythonProcess<T> {
    const child = spawn(PYTHON, [path.join(OPENSTACK_DIR, script), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    return new PythonProcess<T>(child);
  }

  stderr(): string {
    return this.#stderr;
  }

  get exitCode(): number | null {
    return this.#child.exitCode;
  }

  /** Waits until a line satisfies `predicate`; fails with stderr after `timeoutMs`. */
  async waitFor(
    predicate: (lines: T[]) => boolean,
    timeoutMs = 30_000,
    what = 'output',
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.lines)) {
      if (this.#child.exitCode !== null) {
        throw new Error(
          `${what}: the process exited (${this.#child.exitCode}):\n${this.#stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${what}: not within ${timeoutMs} ms; stderr:\n${this.#stderr}`,
        );
      }
      await new Promise<void>(resolve => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 500));
        this.#waiters.add(done);
      });
    }
  }

  /** SIGTERM, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
      return;
    }
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** One notification as cadf_listener.py prints it. */
export interface ReceivedNotification {
  priority: string;
  publisher_id: string;
  event_type: string;
  payload: CadfEvent;
  metadata: { message_id: string; timestamp: string };
  cadf: { valid: boolean; errors: string[]; warnings: string[] };
}

export type Listener = PythonProcess<ReceivedNotification | 'READY'>;

/** Starts oslo.messaging's notification listener and waits until its queue is bound. */
export async function startListener(options: {
  url: string;
  exchange?: string;
  topic?: string;
  pool?: string;
  /** oslo's `amqp_durable_queues`: a durable exchange and queue, which survive a broker restart. */
  durable?: boolean;
}): Promise<Listener> {
  const args = ['--url', options.url];
  if (options.exchange) args.push('--exchange', options.exchange);
  if (options.topic) args.push('--topic', options.topic);
  if (options.pool) args.push('--pool', options.pool);
  if (options.durable) args.push('--durable');
  const listener = PythonProcess.start<ReceivedNotification | 'READY'>(
    'cadf_listener.py',
    args,
  );
  await listener.waitFor(
    lines => lines.includes('READY'),
    60_000,
    'listener start',
  );
  return listener;
}

/** The notifications a listener received so far (without its READY line). */
export function notificationsOf(listener: Listener): ReceivedNotification[] {
  return listener.lines.filter((l): l is ReceivedNotification => l !== 'READY');
}

const LOCK_DIR = path.join(os.tmpdir(), 'backstage-audit-rabbitmq.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Holds the machine's RabbitMQ for one test file at a time: the broker-fault
 * tests close connections and stop the broker's app, which would break any
 * other test using it meanwhile. Every test file that uses RabbitMQ takes
 * this lock for its whole run. A lock whose holder died is taken over.
 */
export async function acquireBrokerLock(
  timeoutMs = 20 * 60_000,
): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(LOCK_DIR);
      fs.writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      return () => fs.rmSync(LOCK_DIR, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8'));
      } catch {
        // Being written or removed right now: look again.
      }
      if (Number.isInteger(holder) && !alive(holder)) {
        fs.rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`RabbitMQ test lock ${LOCK_DIR} held by ${holder}`);
      }
      await new Promise(r => setTimeout(r, 250));
    }
  }
}

/** pycadf's verdict on one line of a CADF log file (cadf_file_judge.py). */
export interface CadfLineVerdict {
  valid: boolean;
  errors: string[];
  warnings: string[];
  event: CadfEvent | null;
}

/** Loads each line (a CADF event as JSON) through pycadf, as the listener loads a payload. */
export async function judgeCadfLines(
  lines: readonly string[],
): Promise<CadfLineVerdict[]> {
  const child = spawn(
    PYTHON,
    [path.join(OPENSTACK_DIR, 'cadf_file_judge.py')],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', d => out.push(d));
  child.stderr!.on('data', d => err.push(d));
  const exited = new Promise<number | null>(resolve =>
    child.on('close', code => resolve(code)),
  );
  child.stdin!.end(lines.map(l => `${l}\n`).join(''));
  const code = await exited;
  if (code !== 0) {
    throw new Error(
      `cadf_file_judge.py exited ${code}: ${Buffer.concat(err).toString()}`,
    );
  }
  return Buffer.concat(out)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as CadfLineVerdict);
}
