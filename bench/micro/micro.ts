/**
 * Record pipeline micro-benchmark (child process, run with --expose-gc).
 *
 * Every variant writes the same representative record (a
 * CatalogEntityFetchByName completion, ~1.1 KB) to its own file in a temp
 * dir with one synchronous write per record. Variants run in rounds, in a
 * rotated order, so machine noise hits all of them alike; each round's
 * ratios are taken against the raw baseline of the same round.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from '../lib/args';
import { failChild, sendResult } from '../lib/child';
import { median } from '../lib/stats';
import { buildVariants, tick, Variant } from './variants';

export interface MicroVariantResult {
  key: string;
  label: string;
  /** Records per second, median over rounds. */
  recordsPerSec: number;
  /** Median over rounds of (this variant's rate / its baseline's rate in the same round). */
  ratioToBaseline: number;
  baseline: string;
  bytesPerRecord: number;
  rounds: number[];
  note?: string;
}

export interface MicroResult {
  recordsPerRun: number;
  rounds: number;
  recordBytes: number;
  variants: MicroVariantResult[];
  skipped: { key: string; label: string; reason: string }[];
}

const args = parseArgs();
const RECORDS = args.quick ? 10_000 : 40_000;
const ROUNDS = args.quick ? 3 : 7;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-micro-'));
  try {
    await sendResult(await run(dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function run(dir: string): Promise<MicroResult> {
  const built = await buildVariants(dir);
  const { skipped, recordBytes } = built;
  // BENCH_VARIANTS=raw,rawPair,oursCapture: a diagnostic subset (the
  // baselines are kept, every ratio needs its own).
  const only = process.env.BENCH_VARIANTS?.split(',');
  const variants = only
    ? built.variants.filter(
        v => only.includes(v.key) || v.key === 'raw' || v.key === 'rawPair',
      )
    : built.variants;
  const opsOf = (v: Variant) => Math.round(RECORDS / v.recordsPerOp);

  async function measure(v: Variant): Promise<{ rate: number; bytes: number }> {
    fs.truncateSync(v.file, 0);
    gc();
    const ops = opsOf(v);
    const start = process.hrtime.bigint();
    await v.run(ops);
    // Anything a logger deferred (nextTick, setImmediate) is part of its cost.
    await tick();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const records = ops * v.recordsPerOp;
    return {
      rate: records / seconds,
      bytes: fs.statSync(v.file).size / records,
    };
  }

  // Warm-up (JIT) and a correctness check: every variant wrote every record.
  for (const v of variants) {
    await measure(v);
    const lines = fs.readFileSync(v.file, 'utf8').split('\n').filter(Boolean);
    const expected = opsOf(v) * v.recordsPerOp;
    if (lines.length !== expected) {
      throw new Error(
        `${v.key} wrote ${lines.length} lines, expected ${expected}`,
      );
    }
    JSON.parse(lines[lines.length - 1]);
  }

  const rates = new Map<string, number[]>(variants.map(v => [v.key, []]));
  const ratios = new Map<string, number[]>(variants.map(v => [v.key, []]));
  const bytes = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = variants.map(
      (_, i) => variants[(i + round) % variants.length],
    );
    const thisRound = new Map<string, number>();
    for (const v of order) {
      const m = await measure(v);
      thisRound.set(v.key, m.rate);
      rates.get(v.key)!.push(m.rate);
      bytes.set(v.key, m.bytes);
    }
    for (const v of variants) {
      ratios
        .get(v.key)!
        .push(thisRound.get(v.key)! / thisRound.get(v.baseline)!);
    }
  }
  for (const v of variants) {
    v.close?.();
  }

  return {
    recordsPerRun: RECORDS,
    rounds: ROUNDS,
    recordBytes,
    variants: variants.map(v => ({
      key: v.key,
      label: v.label,
      recordsPerSec: median(rates.get(v.key)!),
      ratioToBaseline: median(ratios.get(v.key)!),
      baseline: v.baseline,
      bytesPerRecord: bytes.get(v.key)!,
      rounds: rates.get(v.key)!.map(r => Math.round(r)),
      note: v.note,
    })),
    skipped,
  };
}

main().catch(failChild);
