/**
 * Write system calls of the example backend, OFF and ON, under the e2e
 * suite's open-loop load (diagnostic; needs `perf` with syscall tracepoints):
 *
 *   node --import tsx bench/e2e/syscalls.ts [req/s] [seconds]
 *
 * Starts each backend in turn, warms it up, then runs `perf trace -s` on it
 * for the measured load and prints perf's per-thread summary of `write` and
 * `writev` (calls, total and average ms). Tracing adds its own cost to each
 * call: compare OFF with ON, and either with a loop traced the same way.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../lib/stats';
import { componentName, writeCatalog } from './catalog';
import { startExampleBackend } from './exampleBackend';
import { openLoop } from './openLoop';
import { failChild } from '../lib/child';

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 40);
  const seconds = Number(process.argv[3] ?? 8);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-syscalls-'));
  try {
    const catalogFile = writeCatalog(dir, 50);
    for (const mode of ['off', 'on']) {
      const b = await startExampleBackend({
        mode,
        dir,
        extraConfig: `catalog:\n  processingInterval: { minutes: 60 }\n  locations:\n    - type: file\n      target: ${catalogFile}\n${
          mode === 'off' ? 'auditLog:\n  enabled: false\n' : ''
        }`,
      });
      try {
        const url = `${b.base}/api/catalog/entities/by-name/component/default/${componentName(25)}`;
        const headers = { authorization: `Bearer ${b.token}` };
        for (;;) {
          const res = await fetch(url, { headers });
          await res.text();
          if (res.ok) break;
          await sleep(1000);
        }
        await openLoop({ url, headers, rate, seconds: 5 });
        const out = path.join(dir, `perf-${mode}.txt`);
        const perf = spawn(
          'perf',
          ['trace', '-s', '-e', 'write,writev', '-p', String(b.pid), '-o', out],
          { stdio: 'ignore' },
        );
        const exited = new Promise(resolve => perf.on('exit', resolve));
        await sleep(500);
        const run = await openLoop({ url, headers, rate, seconds });
        perf.kill('SIGINT');
        await exited;
        process.stdout.write(
          `${mode}: ${run.completed} requests at ${rate}/s\n${fs
            .readFileSync(out, 'utf8')
            .split('\n')
            .filter(l => /^\s*(write|writev)\s|^ node \(/.test(l))
            .join('\n')}\n`,
        );
      } finally {
        await b.stop();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), failChild);
