/**
 * Profiles one end-to-end backend under load:
 *
 *   node --import tsx bench/e2e/profile.ts on byName 10 /tmp/prof
 *
 * (mode: off|on|on-nostore|on-nostdout, endpoint key, seconds, profile dir).
 * The backend's CPU profile covers the measured load only (inspector
 * Profiler), and is written as <mode>-<endpoint>.cpuprofile.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCatalog } from './catalog';
import {
  AnyMode,
  BACKEND_CPU,
  endpoints,
  ENTITIES,
  load,
  pinDriver,
  pinTo,
  startBackend,
  stopBackend,
} from './e2e';

async function main(): Promise<void> {
  const mode = (process.argv[2] ?? 'on') as AnyMode;
  const key = process.argv[3] ?? 'byName';
  const seconds = Number(process.argv[4] ?? 10);
  const profileDir = path.resolve(
    process.argv[5] ?? path.join(os.tmpdir(), 'audit-bench-prof'),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-e2e-prof-'));
  fs.mkdirSync(profileDir, { recursive: true });
  const flags =
    process.env.BENCH_BACKEND_FLAGS?.split(' ').filter(Boolean) ?? [];
  const b = await startBackend(
    mode,
    dir,
    writeCatalog(dir, ENTITIES),
    undefined,
    flags,
  );
  pinTo(b.child.process.pid, BACKEND_CPU);
  pinDriver();
  if (process.env.BENCH_KEEP_LOG) {
    process.stdout.write(`log: ${b.logFile}\n`);
  }
  try {
    const e = endpoints().find(x => x.key === key)!;
    await load(b.base, b.authorization, e, 2);
    if (!process.env.BENCH_NO_PROFILE) {
      b.child.send({ type: 'profile-start' });
      await b.child.next();
    }
    const run = await load(b.base, b.authorization, e, seconds);
    const file = path.join(profileDir, `${mode}-${key}.cpuprofile`);
    if (!process.env.BENCH_NO_PROFILE) {
      b.child.send({ type: 'profile-stop', file });
      await b.child.next();
    }
    process.stdout.write(
      `${mode} ${key}: ${Math.round(run.rps)} req/s, p99 ${run.p99.toFixed(2)} ms\n`,
    );
    b.child.send({ type: 'stats' });
    const stats = await b.child.next();
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  } finally {
    await stopBackend(b);
    if (!process.env.BENCH_KEEP_LOG) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch(error => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
