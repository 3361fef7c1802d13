/**
 * `npm run bench`: runs every suite in its own child process, prints the
 * tables and writes them as JSON (bench/results.json; --quick writes
 * bench/results.quick.json).
 *
 *   npm run bench                        full run (~10 minutes)
 *   npm run bench -- --quick             smoke run (~2 minutes), smaller sizes
 *   npm run bench -- --only=micro,memory suites: micro, memory, store, e2e
 *   BENCH_ROUNDS=5 npm run bench -- --only=e2e   more end-to-end rounds
 *   npm run bench -- --out=file.json     write the JSON elsewhere
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as prettier from 'prettier';
import { BenchArgs, childArgs, parseArgs } from './lib/args';
import { runChild } from './lib/child';
import { machineInfo, MachineInfo } from './lib/machine';
import { mb, num, pct, round, table } from './lib/stats';
import type { MicroResult } from './micro/micro';
import type { MemoryResult } from './memory/memory';
import type { StoreResult } from './store/suite';
import type { E2eResult } from './e2e/e2e';

const SUITES = ['micro', 'memory', 'store', 'e2e'] as const;
type Suite = (typeof SUITES)[number];

interface Target {
  suite: Suite;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResults {
  machine: MachineInfo & { loadAvgAtEnd?: number[] };
  quick: boolean;
  command: string;
  durationSec: number;
  micro?: MicroResult;
  memory?: MemoryResult[];
  store?: StoreResult;
  e2e?: E2eResult;
  targets: Target[];
  errors: Partial<Record<Suite, string>>;
}

const here = (file: string) => path.join(__dirname, file);
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function runSuite(
  suite: Suite,
  args: BenchArgs,
  results: BenchResults,
): Promise<void> {
  const forward = childArgs(args);
  switch (suite) {
    case 'micro':
      results.micro = await runChild<MicroResult>(here('micro/micro.ts'), {
        args: forward,
        execArgv: ['--expose-gc'],
      });
      return;
    case 'memory':
      results.memory = [];
      for (const maxQueue of [10_000, undefined]) {
        results.memory.push(
          await runChild<MemoryResult>(here('memory/memory.ts'), {
            args: maxQueue ? [`--max-queue=${maxQueue}`] : [],
            execArgv: ['--expose-gc'],
          }),
        );
      }
      return;
    case 'store':
      results.store = await runChild<StoreResult>(here('store/suite.ts'), {
        args: forward,
      });
      return;
    case 'e2e':
      results.e2e = await runChild<E2eResult>(here('e2e/e2e.ts'), {
        args: forward,
        timeoutMs: 90 * 60_000,
      });
      return;
    default:
      throw new Error(`unknown suite ${String(suite)}`);
  }
}

function evaluate(results: BenchResults): Target[] {
  const targets: Target[] = [];
  const micro = results.micro;
  if (micro) {
    const ours = micro.variants.find(v => v.key === 'ours');
    const capture = micro.variants.find(v => v.key === 'oursCapture');
    if (ours) {
      targets.push({
        suite: 'micro',
        target:
          'record pipeline (emit: build, redact, serialize, write) >= 60% of raw',
        measured: `${pct(ours.ratioToBaseline)} (${num(ours.recordsPerSec)} records/s)`,
        met: ours.ratioToBaseline >= 0.6,
      });
    }
    if (capture) {
      targets.push({
        suite: 'micro',
        target: 'full HTTP capture path (2 records/request) >= 60% of raw pair',
        measured: `${pct(capture.ratioToBaseline)} (${num(capture.recordsPerSec)} records/s)`,
        met: capture.ratioToBaseline >= 0.6,
      });
    }
  }
  for (const m of results.memory ?? []) {
    const bounded =
      m.queued <= m.maxQueue &&
      m.heapGrowthAfterSecondBurst <= m.heapGrowth * 1.05 + 1024 * 1024;
    targets.push({
      suite: 'memory',
      target: `stalled store, burst of ${num(m.burst)}: queue and heap bounded by maxQueue ${num(m.maxQueue)}`,
      measured: `queued ${num(m.queued)}, dropped ${num(m.dropped)}, heap +${mb(m.heapGrowth)} (+${mb(
        m.heapGrowthAfterSecondBurst,
      )} after a 2nd burst)`,
      met: bounded,
    });
  }
  const rowsNote = (rows: number) =>
    rows < 1_000_000 ? ` (at ${num(rows)} rows, quick)` : '';
  for (const db of results.store?.databases ?? []) {
    const min = db.db === 'postgres' ? 20_000 : 10_000;
    targets.push({
      suite: 'store',
      target: `${db.db === 'postgres' ? 'PostgreSQL' : 'SQLite'} sustained inserts >= ${num(min)}/s`,
      measured: `${num(db.insert.recordsPerSec)} records/s`,
      met: db.insert.recordsPerSec >= min,
    });
    const worst = [...db.query.queries].sort((a, b) => b.p95Ms - a.p95Ms)[0];
    targets.push({
      suite: 'store',
      target: `${db.db === 'postgres' ? 'PostgreSQL' : 'SQLite'} filtered page p95 <= 50 ms at 1M rows${rowsNote(
        db.query.rows,
      )}`,
      measured: `worst p95 ${round(worst.p95Ms, 2)} ms (${worst.label})`,
      met: db.query.queries.every(q => q.p95Ms <= 50),
    });
  }
  for (const e of results.e2e?.endpoints ?? []) {
    const on = e.vsOff.on;
    const floor = e.vsOff.floor;
    if (!on) {
      continue;
    }
    const floorNote = floor
      ? `; floor ${pct(floor.cpuRatio)}, ${signedUs(floor.cpuAddedUs)}`
      : '';
    targets.push({
      suite: 'e2e',
      target: `${e.label}: audit adds <= 5% server CPU per request (at ${num(e.rate)} req/s)`,
      measured: `${pct(on.cpuRatio)} of OFF, ${signedUs(on.cpuAddedUs)}${floorNote}`,
      met: on.cpuRatio <= 1.05,
    });
    targets.push({
      suite: 'e2e',
      target: `${e.label}: audit adds <= 0.1 ms to median latency (open loop, ${num(e.rate)} req/s)`,
      measured: `${signedMs(on.p50DeltaMs)}${
        floor ? `; floor ${signedMs(floor.p50DeltaMs)}` : ''
      } (p99 ${signedMs(on.p99DeltaMs)}; saturated throughput ${pct(
        on.throughputRatio,
      )}${floor ? `, floor ${pct(floor.throughputRatio)}` : ''})`,
      met: on.p50DeltaMs <= 0.1,
    });
  }
  return targets;
}

const signedUs = (v: number) => `${v >= 0 ? '+' : ''}${num(v)} µs`;
const signedMs = (v: number) => `${v >= 0 ? '+' : ''}${num(v, 2)} ms`;

function report(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(
    `Audit log benchmarks${results.quick ? ' (QUICK: reduced sizes, fewer rounds)' : ''}`,
    `${m.cpuCount} x ${m.cpuModel}, ${m.totalMem}, ${m.platform} ${m.release}, Node ${m.node}, ${m.date}, load average ${m.loadAvgAtStart.join(' ')}`,
    '',
  );
  if (results.micro) {
    const r = results.micro;
    out.push(
      `Record pipeline: ${num(r.recordsPerRun)} records per run, median of ${r.rounds} interleaved rounds; completion record ${r.recordBytes} B`,
      table(
        ['variant', 'records/s', 'vs baseline', 'B/record'],
        r.variants.map(v => [
          v.label,
          num(v.recordsPerSec),
          v.key === 'raw'
            ? '(baseline)'
            : `${pct(v.ratioToBaseline)} of ${v.baseline}`,
          num(v.bytesPerRecord),
        ]),
      ),
    );
    for (const s of r.skipped) {
      out.push(`  skipped ${s.label}: ${s.reason}`);
    }
    out.push('');
  }
  if (results.memory?.length) {
    out.push(
      'Memory: burst with the store stalled (insert never resolves), stdout sink to /dev/null',
      table(
        [
          'maxQueue',
          'burst',
          'queued',
          'dropped',
          'heap growth',
          'per queued',
          '2nd burst',
          'peak heap',
          'peak RSS',
        ],
        results.memory.map(x => [
          num(x.maxQueue),
          num(x.burst),
          num(x.queued),
          num(x.dropped),
          mb(x.heapGrowth),
          `${num(x.heapGrowthPerQueuedRecord)} B`,
          mb(x.heapGrowthAfterSecondBurst),
          mb(x.peak.heapUsed),
          mb(x.peak.rss),
        ]),
      ),
      '',
    );
  }
  if (results.store) {
    for (const db of results.store.databases) {
      out.push(
        `Store, ${db.detail}`,
        `  inserts through StoreSink (batch ${db.insert.batchSize}, maxQueue ${num(db.insert.maxQueue)}): ${num(
          db.insert.recordsPerSec,
        )} records/s (median of ${db.insert.runs.length} runs of ${num(db.insert.records)})`,
        `  queries at ${num(db.query.rows)} rows (bulk load ${round(db.query.loadSeconds, 1)} s):`,
        table(
          ['query (KnexAuditStore.query)', 'p50 ms', 'p95 ms', 'rows'],
          db.query.queries.map(q => [
            `  ${q.label}`,
            num(q.p50Ms, 2),
            num(q.p95Ms, 2),
            num(q.avgItems, 0),
          ]),
        ),
        '',
      );
    }
  }
  if (results.e2e) {
    const e = results.e2e;
    out.push(
      `End to end: ${e.backend}; ${num(e.entities)} generated components; load average ${e.loadAvg.start.map(l => l.toFixed(2)).join(' ')} at start, ${e.loadAvg.end.map(l => l.toFixed(2)).join(' ')} at end`,
      `Medians of ${e.rounds} rounds (order rotated); saturated: ${e.connections} connections, ${e.saturationSec} s; fixed rate: ${pct(e.fixedLoad)} of OFF's saturated req/s, open loop, ${e.fixedSec} s, CPU from /proc minus idle background`,
    );
    for (const x of e.endpoints) {
      out.push(
        `${x.label} (fixed rate ${num(x.rate)} req/s)`,
        table(
          [
            'backend',
            'sat. req/s',
            'vs off',
            'sat. p99 ms',
            'CPU µs/req',
            'vs off',
            'p50 ms',
            'Δp50 ms',
            'p99 ms',
            'Δp99 ms',
          ],
          e.modes.map(mode => {
            const m = x.modes[mode]!;
            const v = x.vsOff[mode];
            return [
              mode,
              num(m.rps),
              v ? pct(v.throughputRatio) : '',
              num(m.p99Ms, 1),
              num(m.fixed.cpuUs),
              v ? `${pct(v.cpuRatio)} (${signedUs(v.cpuAddedUs)})` : '',
              num(m.fixed.p50Ms, 2),
              v ? signedMs(v.p50DeltaMs) : '',
              num(m.fixed.p99Ms, 1),
              v ? signedMs(v.p99DeltaMs) : '',
            ];
          }),
        ),
      );
    }
    for (const s of e.skippedModes) {
      out.push(`  skipped ${s.mode}: ${s.reason}`);
    }
    out.push(
      `Audit lines on stdout at the end: ${JSON.stringify(e.auditLines)}`,
      '',
    );
  }
  if (results.targets.length) {
    out.push(
      'Targets',
      table(
        ['', 'target', 'measured'],
        results.targets.map(t => [
          t.met ? 'MET' : 'MISSED',
          t.target,
          t.measured,
        ]),
        'lll',
      ),
      '',
    );
  }
  for (const [suite, error] of Object.entries(results.errors)) {
    out.push(`${suite} FAILED: ${error}`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs();
  const selected = (args.only.length ? args.only : [...SUITES]) as Suite[];
  for (const s of selected) {
    if (!SUITES.includes(s)) {
      throw new Error(`unknown suite '${s}'; one of ${SUITES.join(', ')}`);
    }
  }
  const started = Date.now();
  const results: BenchResults = {
    machine: machineInfo(),
    quick: args.quick,
    command: [
      'npm run bench',
      ...(process.argv.length > 2 ? ['--'] : []),
      ...process.argv.slice(2),
    ].join(' '),
    durationSec: 0,
    targets: [],
    errors: {},
  };
  for (const suite of selected) {
    const t = Date.now();
    log(`${suite}: running${args.quick ? ' (quick)' : ''}...`);
    try {
      await runSuite(suite, args, results);
      log(`${suite}: done in ${Math.round((Date.now() - t) / 1000)} s`);
    } catch (error) {
      results.errors[suite] = String((error as Error).message ?? error).slice(
        0,
        4000,
      );
      log(`${suite}: FAILED: ${results.errors[suite]}`);
    }
  }
  results.durationSec = Math.round((Date.now() - started) / 1000);
  results.machine.loadAvgAtEnd = os
    .loadavg()
    .map(l => Math.round(l * 100) / 100);
  results.targets = evaluate(results);
  const text = report(results);
  process.stdout.write(`\n${text}\nTotal ${results.durationSec} s\n`);
  const out = path.resolve(
    args.out ?? here(args.quick ? 'results.quick.json' : 'results.json'),
  );
  // Prettier-formatted, so the committed file passes `npm run prettier:check`.
  const json = await prettier.format(JSON.stringify(results), {
    parser: 'json',
  });
  fs.writeFileSync(out, json);
  process.stdout.write(
    `Results written to ${path.relative(process.cwd(), out)}\n`,
  );
  if (Object.keys(results.errors).length > 0) {
    process.exitCode = 1;
  }
}

main().catch(error => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
