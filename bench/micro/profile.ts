/**
 * Runs one micro-benchmark variant in a loop, for profiling:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/micro/profile.ts ours 5
 *
 * (variant key, seconds). Open the .cpuprofile in Chrome DevTools or speedscope.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildVariants, tick } from './variants';
import { failChild } from '../lib/child';

async function main(): Promise<void> {
  const key = process.argv[2] ?? 'ours';
  const seconds = Number(process.argv[3] ?? 5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-profile-'));
  try {
    const { variants } = await buildVariants(dir);
    const variant = variants.find(v => v.key === key);
    if (!variant) {
      throw new Error(
        `no variant ${key}; one of ${variants.map(v => v.key).join(', ')}`,
      );
    }
    const ops = Math.round(5000 / variant.recordsPerOp);
    const end = Date.now() + seconds * 1000;
    let records = 0;
    const start = process.hrtime.bigint();
    while (Date.now() < end) {
      fs.truncateSync(variant.file, 0);
      await variant.run(ops);
      await tick();
      records += ops * variant.recordsPerOp;
    }
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    process.stdout.write(
      `${key}: ${Math.round(records / elapsed)} records/s\n`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Exit explicitly: the variants' stores and timers would keep the process alive.
main().then(() => process.exit(0), failChild);
