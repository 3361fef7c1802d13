/**
 * One example backend for the end-to-end benchmark: `packages/backend` as
 * `npm start` runs it (same entry point, app-config.yaml, NODE_ENV), plus an
 * overrides file, on a free port. Started as the node process itself (not
 * through npm), so its pid is the process whose CPU time is read from /proc.
 * Its stdout (audit lines and ordinary logs) goes to a file: writes to a
 * file are synchronous, as to a pipe into a log collector.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, ROOT } from '../../test/support/exampleBackend';

export interface ExampleBackendProcess {
  mode: string;
  base: string;
  token: string;
  pid: number;
  logFile: string;
  startedMs: number;
  stop(): Promise<void>;
}

/** CPU time (user + system, all threads) of a process so far, in ms. */
export function cpuMs(pid: number): number {
  // Every thread's run time in ns (schedstat), where the kernel has it: the
  // 10 ms ticks of /proc/<pid>/stat are too coarse for one-second slices.
  try {
    let ns = 0;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const schedstat = fs.readFileSync(
        `/proc/${pid}/task/${task}/schedstat`,
        'utf8',
      );
      ns += Number(schedstat.slice(0, schedstat.indexOf(' ')));
    }
    if (Number.isFinite(ns) && ns > 0) {
      return ns / 1e6;
    }
  } catch {
    // a thread exited mid-read, or no schedstat: use the ticks
  }
  return statCpuMs(pid);
}

/** User + system time of the process (all threads, exited ones too), in 10 ms ticks. */
function statCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}
/** USER_HZ; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export async function startExampleBackend(options: {
  mode: string;
  dir: string;
  /** YAML layered over app-config.yaml after the port settings. */
  extraConfig: string;
  /** YAML lines under `backend:` (indented two spaces), next to the port settings. */
  backendConfig?: string;
  nodeArgs?: string[];
  env?: Record<string, string>;
}): Promise<ExampleBackendProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const overrides = path.join(options.dir, `overrides-${options.mode}.yaml`);
  fs.writeFileSync(
    overrides,
    `backend:\n  baseUrl: ${base}\n  listen:\n    port: ${port}\n${
      options.backendConfig ?? ''
    }${options.extraConfig}`,
  );
  const logFile = path.join(options.dir, `backend-${options.mode}.log`);
  const out = fs.openSync(logFile, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      ...(options.nodeArgs ?? []),
      'packages/backend/src/index.ts',
      '--config',
      'app-config.yaml',
      '--config',
      overrides,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        NODE_ENV: 'development',
        FORCE_COLOR: '0',
        ...options.env,
      },
    },
  );
  fs.closeSync(out);
  let exited = false;
  const gone = new Promise<void>(resolve =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited) {
      return;
    }
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
  };
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      if (exited || Date.now() > deadline) {
        throw new Error(
          `example backend (${options.mode}) did not start:\n${fs
            .readFileSync(logFile, 'utf8')
            .slice(-3000)}`,
        );
      }
      try {
        const res = await fetch(`${base}/api/auth/guest/refresh`, {
          method: 'POST',
        });
        if (res.ok) {
          const token = (
            (await res.json()) as { backstageIdentity: { token: string } }
          ).backstageIdentity.token;
          return {
            mode: options.mode,
            base,
            token,
            pid: child.pid!,
            logFile,
            startedMs: Date.now() - started,
            stop,
          };
        }
      } catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 500));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
