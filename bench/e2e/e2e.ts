/**
 * End-to-end benchmark (child process of run.ts): two real backends, audit
 * log OFF and ON, each with the same generated catalog, loaded in turn with
 * autocannon from this process. Rounds alternate which backend goes first,
 * so drift in machine load hits both alike; ratios are taken per round.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import knexFactory from 'knex';
import { parse } from 'yaml';
import { parseArgs } from '../lib/args';
import { BenchChild, failChild, sendResult } from '../lib/child';
import { median, percentile, sleep } from '../lib/stats';
import { componentName, writeCatalog } from './catalog';

const ROOT = path.resolve(__dirname, '../..');
const args = parseArgs();
export const ENTITIES = Number(
  process.env.BENCH_ENTITIES ?? (args.quick ? 500 : 3000),
);
const ROUNDS = args.quick ? 1 : 3;
const DURATION_S = args.quick ? 2 : 5;
const FIXED_S = args.quick ? 2 : 5;
/** The fixed rate, as a share of the lower of the two measured throughputs. */
export const FIXED_LOAD = 0.2;
/** ...and at most this many requests per second, on one connection. */
const FIXED_MAX_RATE = 200;
const WARMUP_S = args.quick ? 1 : 2;

/**
 * On a machine with at least two CPUs the load generator (this process) and
 * the backends run on different CPUs, so autocannon's own work is not
 * charged to the backend under test (BENCH_PIN=0 turns this off).
 */
const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2;
export const DRIVER_CPU = 0;
export const BACKEND_CPU = 1;

/** Moves every thread of `pid` to one CPU (no-op where taskset is missing). */
export function pinTo(pid: number | undefined, cpu: number): void {
  if (!PIN || !pid) {
    return;
  }
  try {
    execFileSync('taskset', ['-a', '-c', '-p', String(cpu), String(pid)], {
      stdio: 'ignore',
    });
  } catch {
    // taskset unavailable: run unpinned
  }
}

export function pinDriver(): void {
  pinTo(process.pid, DRIVER_CPU);
}

export const pinned = () => PIN;

export type Mode = 'off' | 'on';
/**
 * 'floor': off, plus the least an audit of two records per request costs
 * (see backend.ts); the others are diagnostic modes for profile.ts.
 */
export type AnyMode =
  Mode | 'floor' | 'on-nostore' | 'on-nostdout' | 'on-nosinks';

interface Endpoint {
  key: string;
  label: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  connections: number;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
}

export interface E2eEndpointResult {
  key: string;
  label: string;
  connections: number;
  off: { rps: number; p50Ms: number; p99Ms: number };
  on: { rps: number; p50Ms: number; p99Ms: number };
  /** Median over rounds of on/off throughput in the same round. */
  throughputRatio: number;
  /**
   * The floor backend (two prebuilt records serialized and written per
   * request, nothing else): its req/s and the median of floor/off per round.
   * The most any audit writing two records synchronously can keep here.
   */
  floor: { rps: number; p50Ms: number; p99Ms: number };
  floorRatio: number;
  /** Median over rounds of on - off p99 (ms), at saturation. */
  p99DeltaMs: number;
  p50DeltaMs: number;
  rounds: { off: Run; on: Run; floor: Run }[];
  /**
   * Latency at a fixed request rate on one connection, which both backends
   * sustain easily (FIXED_LOAD of the lower of the two throughputs, at most
   * FIXED_MAX_RATE): what a request costs when it never waits for another.
   */
  fixedRate?: {
    rate: number;
    off: { p50Ms: number; p99Ms: number };
    on: { p50Ms: number; p99Ms: number };
    floor: { p50Ms: number; p99Ms: number };
    p50DeltaMs: number;
    p99DeltaMs: number;
    /** The floor backend's p99 minus OFF's. */
    floorP99DeltaMs: number;
    rounds: { off: Run; on: Run; floor: Run }[];
  };
}

export interface E2eResult {
  entities: number;
  rounds: number;
  durationSec: number;
  fixedRateDurationSec: number;
  /** Fixed rate as a share of the lower throughput. */
  fixedLoad: number;
  database: string;
  startupMs: { off: number; on: number; floor: number };
  endpoints: E2eEndpointResult[];
  audit: {
    /** Counters of the ON backend's audit pipeline at the end. */
    stats: unknown;
    /** Bytes its stdout (audit lines and ordinary logs) took in the file. */
    stdoutBytes: number;
    auditLines: number;
  };
}

export function endpoints(): Endpoint[] {
  const template = parse(
    fs.readFileSync(
      path.join(
        ROOT,
        'packages/backend/examples/templates/hello/template.yaml',
      ),
      'utf8',
    ),
  );
  const mid = componentName(Math.floor(ENTITIES / 2));
  return [
    {
      key: 'list',
      label: 'GET /entities?limit=50',
      method: 'GET',
      path: '/api/catalog/entities?limit=50',
      connections: 8,
    },
    {
      key: 'byName',
      label: 'GET /entities/by-name/…',
      method: 'GET',
      path: `/api/catalog/entities/by-name/component/default/${mid}`,
      connections: 8,
    },
    {
      key: 'byQuery',
      label: 'GET /entities/by-query?filter…',
      method: 'GET',
      path: '/api/catalog/entities/by-query?filter=kind=component,spec.type=service&limit=20&fields=kind,metadata.name,spec.owner',
      connections: 8,
    },
    {
      key: 'dryRun',
      label: 'POST scaffolder /v2/dry-run',
      method: 'POST',
      path: '/api/scaffolder/v2/dry-run',
      body: JSON.stringify({
        template,
        values: { name: 'bench' },
        secrets: { deployKey: 'bench-secret-value' },
        directoryContents: [],
      }),
      connections: 4,
    },
  ];
}

export async function load(
  base: string,
  authorization: string,
  e: Endpoint,
  seconds: number,
  overallRate?: number,
): Promise<Run> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}${e.path}`,
        method: e.method,
        headers: {
          authorization,
          ...(e.body ? { 'content-type': 'application/json' } : {}),
        },
        body: e.body,
        connections: e.connections,
        duration: seconds,
        ...(overallRate ? { overallRate } : {}),
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
    // autocannon's own histogram has 1 ms resolution; keep every latency instead.
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 400) {
        latencies.push(responseTime);
      }
    });
  });
  return {
    rps: result.requests.total / (result.duration || seconds),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

interface Started {
  child: BenchChild;
  base: string;
  authorization: string;
  startedMs: number;
  logFile: string;
}

export async function startBackend(
  mode: AnyMode,
  dir: string,
  catalogFile: string,
  pgPrefix: string | undefined,
  execArgv: string[] = [],
): Promise<Started> {
  const logFile = path.join(dir, `backend-${mode}.log`);
  const child = new BenchChild(path.join(__dirname, 'backend.ts'), {
    args: [
      `--mode=${mode}`,
      `--catalog=${catalogFile}`,
      `--entities=${ENTITIES}`,
      ...(pgPrefix ? [`--pg-prefix=${pgPrefix}`] : []),
    ],
    logFile,
    execArgv,
    env: { NODE_ENV: 'production', FORCE_COLOR: '0' },
  });
  const ready = await child.next(16 * 60_000);
  if (ready.type !== 'ready') {
    throw new Error(`backend ${mode}: unexpected ${ready.type}`);
  }
  return {
    child,
    base: `http://127.0.0.1:${ready.port}`,
    authorization: String(ready.authorization),
    startedMs: Number(ready.startedMs),
    logFile,
  };
}

export async function stopBackend(b: Started): Promise<void> {
  try {
    b.child.send({ type: 'stop' });
    await b.child.exit(30_000);
  } finally {
    b.child.kill();
  }
}

function fixedRateResult(
  f: { rate: number; runs: { off: Run; on: Run; floor: Run }[] } | undefined,
): E2eEndpointResult['fixedRate'] {
  if (!f || f.runs.length === 0) {
    return undefined;
  }
  const side = (mode: Mode | 'floor') => ({
    p50Ms: median(f.runs.map(r => r[mode].p50)),
    p99Ms: median(f.runs.map(r => r[mode].p99)),
  });
  return {
    rate: f.rate,
    off: side('off'),
    on: side('on'),
    floor: side('floor'),
    p50DeltaMs: median(f.runs.map(r => r.on.p50 - r.off.p50)),
    p99DeltaMs: median(f.runs.map(r => r.on.p99 - r.off.p99)),
    floorP99DeltaMs: median(f.runs.map(r => r.floor.p99 - r.off.p99)),
    rounds: f.runs,
  };
}

async function dropDatabases(prefix: string): Promise<void> {
  const knex = knexFactory({
    client: 'pg',
    connection: {
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    },
  });
  try {
    const rows = await knex
      .select('datname')
      .from('pg_database')
      .where('datname', 'like', `${prefix}%`);
    for (const { datname } of rows as { datname: string }[]) {
      await knex.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [datname]);
    }
  } finally {
    await knex.destroy();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-e2e-'));
  const catalogFile = writeCatalog(dir, ENTITIES);
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  const pgPrefix = (mode: string) =>
    args.e2eDb === 'pg' ? `bench_e2e_${runId}_${mode}_` : undefined;
  const prefixes = {
    off: pgPrefix('off'),
    on: pgPrefix('on'),
    floor: pgPrefix('floor'),
  };
  const backends: Partial<Record<Mode | 'floor', Started>> = {};
  try {
    // All ingest at once: the comparison starts with all equally warm.
    const [off, on, floor] = await Promise.all(
      (['off', 'on', 'floor'] as const).map(mode =>
        startBackend(mode, dir, catalogFile, prefixes[mode]).then(
          b => (backends[mode] = b),
        ),
      ),
    );
    // Pinned once they have ingested the catalog (ingesting on one CPU
    // would take three times as long).
    for (const b of [off, on, floor]) {
      pinTo(b.child.process.pid, BACKEND_CPU);
    }
    pinDriver();
    await sleep(2000);

    const list = endpoints();
    for (const e of list) {
      for (const b of [off, on, floor]) {
        const warm = await load(b.base, b.authorization, e, WARMUP_S);
        if (warm.requests === 0 || warm.non2xx > 0 || warm.errors > 0) {
          throw new Error(
            `${e.label}: warm-up got ${warm.requests} responses, ${warm.non2xx} non-2xx, ${warm.errors} errors`,
          );
        }
      }
    }

    const runs = new Map<string, { off: Run; on: Run; floor: Run }[]>(
      list.map(e => [e.key, []]),
    );
    const modes = ['off', 'on', 'floor'] as const;
    for (let round = 0; round < ROUNDS; round++) {
      for (const e of list) {
        // Each round starts with another backend: drift hits all alike.
        const order = modes.map((_, i) => modes[(i + round) % modes.length]);
        const set: Partial<Record<Mode | 'floor', Run>> = {};
        for (const mode of order) {
          const b = backends[mode]!;
          set[mode] = await load(b.base, b.authorization, e, DURATION_S);
          // Let the store writer and GC settle before the next backend's turn.
          await sleep(500);
        }
        runs.get(e.key)!.push(set as { off: Run; on: Run; floor: Run });
      }
    }

    // Latency with little queueing: the same fixed rate on both, well below
    // either's capacity, for the catalog reads.
    const fixed = new Map<
      string,
      { rate: number; runs: { off: Run; on: Run; floor: Run }[] }
    >();
    for (const e of list.filter(x => x.key !== 'dryRun')) {
      const rs = runs.get(e.key)!;
      const capacity = Math.min(
        median(rs.map(r => r.off.rps)),
        median(rs.map(r => r.on.rps)),
      );
      fixed.set(e.key, {
        rate: Math.max(
          10,
          Math.min(FIXED_MAX_RATE, Math.round(capacity * FIXED_LOAD)),
        ),
        runs: [],
      });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [key, f] of fixed) {
        const e = list.find(x => x.key === key)!;
        const order = modes.map(
          (_, i) => modes[(i + round + 1) % modes.length],
        );
        const pair: Partial<Record<Mode | 'floor', Run>> = {};
        for (const mode of order) {
          const b = backends[mode]!;
          // One connection: requests never wait behind each other.
          pair[mode] = await load(
            b.base,
            b.authorization,
            { ...e, connections: 1 },
            FIXED_S,
            f.rate,
          );
          await sleep(500);
        }
        f.runs.push(pair as { off: Run; on: Run; floor: Run });
      }
    }

    on.child.send({ type: 'stats' });
    const stats = await on.child.next();
    await Promise.all([stopBackend(off), stopBackend(on), stopBackend(floor)]);
    const onLog = fs.readFileSync(on.logFile, 'utf8');
    const auditLines = onLog
      .split('\n')
      .filter(l => l.includes('"isAuditLog":true')).length;

    const result: E2eResult = {
      entities: ENTITIES,
      rounds: ROUNDS,
      durationSec: DURATION_S,
      fixedRateDurationSec: FIXED_S,
      fixedLoad: FIXED_LOAD,
      database:
        args.e2eDb === 'pg'
          ? 'PostgreSQL on 127.0.0.1 (catalog, scaffolder and audit store)'
          : 'in-memory SQLite (as the test harness and the example backend)',
      startupMs: {
        off: off.startedMs,
        on: on.startedMs,
        floor: floor.startedMs,
      },
      endpoints: list.map(e => {
        const rs = runs.get(e.key)!;
        const side = (mode: Mode | 'floor') => ({
          rps: median(rs.map(r => r[mode].rps)),
          p50Ms: median(rs.map(r => r[mode].p50)),
          p99Ms: median(rs.map(r => r[mode].p99)),
        });
        return {
          key: e.key,
          label: e.label,
          connections: e.connections,
          off: side('off'),
          on: side('on'),
          throughputRatio: median(rs.map(r => r.on.rps / r.off.rps)),
          floor: side('floor'),
          floorRatio: median(rs.map(r => r.floor.rps / r.off.rps)),
          p99DeltaMs: median(rs.map(r => r.on.p99 - r.off.p99)),
          p50DeltaMs: median(rs.map(r => r.on.p50 - r.off.p50)),
          rounds: rs,
          fixedRate: fixedRateResult(fixed.get(e.key)),
        };
      }),
      audit: {
        stats: stats.stats,
        stdoutBytes: Buffer.byteLength(onLog),
        auditLines,
      },
    };
    await sendResult(result);
  } finally {
    for (const b of Object.values(backends)) {
      b?.child.kill();
    }
    for (const prefix of Object.values(prefixes)) {
      if (prefix) {
        await dropDatabases(prefix).catch(() => {});
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch(failChild);
}
