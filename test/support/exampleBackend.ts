/**
 * Starts the example backend the way a user does: `npm start` from the
 * repository root on a free port, real HTTP, real guest sign-in, and keeps
 * every byte the process prints on stdout and stderr.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface ExampleBackend {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** A guest user's Backstage token (real sign-in). */
  token: string;
  stdout(): string;
  stderr(): string;
  /**
   * Stops the backend with SIGINT (as Ctrl-C does; `signal` to send another,
   * SIGTERM as an orchestrator does) and waits for it to exit.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `npm start -- --config <overrides>`; `extraConfig` is YAML layered
 * over app-config.yaml after the port settings.
 */
export async function startExampleBackend(
  options: { extraConfig?: string; env?: Record<string, string> } = {},
): Promise<ExampleBackend> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-example-'));
  const overrides = path.join(dir, 'overrides.yaml');
  fs.writeFileSync(
    overrides,
    `backend:\n  baseUrl: ${base}\n  listen:\n    port: ${port}\n${
      options.extraConfig ?? ''
    }`,
  );
  const child: ChildProcess = spawn(
    'npm',
    ['start', '--', '--config', overrides],
    {
      cwd: ROOT,
      detached: true,
      env: {
        ...process.env,
        NODE_ENV: 'development',
        FORCE_COLOR: '0',
        ...options.env,
      },
    },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', d => out.push(d));
  child.stderr!.on('data', d => err.push(d));
  const stdout = () => Buffer.concat(out).toString('utf8');
  const stderr = () => Buffer.concat(err).toString('utf8');
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  // npm can exit before the backend it started has finished shutting down;
  // 'close' comes once every process holding the output pipes is gone.
  let closed = false;
  const gone = new Promise<void>(resolve =>
    child.on('close', () => {
      closed = true;
      resolve();
    }),
  );

  const stop = async (signal: NodeJS.Signals = 'SIGINT') => {
    if (closed) {
      return;
    }
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The whole group is gone already; its pipes are closing.
      await gone;
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 20_000);
    await gone;
    clearTimeout(timer);
  };

  try {
    const deadline = Date.now() + 150_000;
    let token = '';
    for (;;) {
      if (exited || Date.now() > deadline) {
        throw new Error(
          `example backend did not start:\n${stdout()}\n${stderr()}`,
        );
      }
      try {
        const res = await fetch(`${base}/api/auth/guest/refresh`, {
          method: 'POST',
        });
        if (res.ok) {
          token = (
            (await res.json()) as { backstageIdentity: { token: string } }
          ).backstageIdentity.token;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 500));
    }
    return { base, token, stdout, stderr, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits until the catalog serves an entity (the example files are ingested). */
export async function waitForExampleEntity(
  backend: ExampleBackend,
  ref: string,
): Promise<void> {
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  for (let i = 0; i < 300; i++) {
    const res = await fetch(
      `${backend.base}/api/catalog/entities/by-name/${kind}/${namespace}/${name}`,
      { headers: { Authorization: `Bearer ${backend.token}` } },
    );
    await res.text();
    if (res.ok) {
      return;
    }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`entity ${ref} never appeared in the catalog`);
}
