/**
 * Profiles example backends under the same open-loop load as the e2e suite:
 *
 *   node --import tsx bench/e2e/profile.ts <endpoint> <rate> <seconds> <dir> [modes]
 *
 * (endpoint: byName|list|byQuery; modes: comma-separated, default off,on).
 * Writes <dir>/<mode>-<endpoint>.cpuprofile covering the load only, and
 * prints CPU per request from /proc. Summarize with
 * bench/micro/summarize-profile.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../lib/stats';
import { componentName, writeCatalog } from './catalog';
import { cpuMs, startExampleBackend } from './exampleBackend';
import { openLoop } from './openLoop';

const PATHS: Record<string, string> = {
  byName: `/api/catalog/entities/by-name/component/default/${componentName(25)}`,
  list: '/api/catalog/entities?limit=20',
  byQuery:
    '/api/catalog/entities/by-query?filter=kind=component,spec.type=service&limit=20&fields=kind,metadata.name,spec.owner',
};

async function main(): Promise<void> {
  const [key = 'byName', rateArg = '50', secondsArg = '15', outDir] =
    process.argv.slice(2);
  const modes = (process.argv[6] ?? 'off,on').split(',');
  const profileDir = path.resolve(
    outDir ?? path.join(os.tmpdir(), 'audit-bench-prof'),
  );
  fs.mkdirSync(profileDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-prof-'));
  const catalogFile = writeCatalog(dir, 50);
  const extra: Record<string, string> = {
    off: 'auditLog:\n  enabled: false\n',
    on: '',
    'on-nostore': 'auditLog:\n  store:\n    enabled: false\n',
    'on-nostdout': 'auditLog:\n  stdout:\n    enabled: false\n',
  };
  for (const mode of modes) {
    const file = path.join(profileDir, `${mode}-${key}.cpuprofile`);
    const b = await startExampleBackend({
      mode,
      dir,
      extraConfig: `catalog:\n  processingInterval: { minutes: 60 }\n  locations:\n    - type: file\n      target: ./packages/backend/examples/locations.yaml\n    - type: file\n      target: ${catalogFile}\n${extra[mode] ?? ''}`,
      nodeArgs: ['--import', path.join(__dirname, 'profilePreload.ts')],
      env: { BENCH_PROFILE_FILE: file },
    });
    try {
      const url = `${b.base}${PATHS[key]}`;
      const headers = { authorization: `Bearer ${b.token}` };
      for (;;) {
        const res = await fetch(url, { headers });
        await res.text();
        if (res.ok) {
          break;
        }
        await sleep(1000);
      }
      await openLoop({ url, headers, rate: Number(rateArg), seconds: 5 });
      process.kill(b.pid, 'SIGUSR2');
      await sleep(500);
      const cpu = cpuMs(b.pid);
      const run = await openLoop({
        url,
        headers,
        rate: Number(rateArg),
        seconds: Number(secondsArg),
      });
      const used = cpuMs(b.pid) - cpu;
      process.kill(b.pid, 'SIGUSR2');
      await sleep(2000);
      process.stdout.write(
        `${mode} ${key}: ${Math.round((used * 1000) / run.completed)} µs CPU/request (profiler on), p50 ${run.p50.toFixed(2)} ms -> ${file}\n`,
      );
    } finally {
      await b.stop();
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch(error => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
