/**
 * End-to-end benchmark (child process of run.ts) on the example backend as
 * users run it (`npm start`: real guest sign-in, every request's token
 * verified, permission backend, catalog and scaffolder on in-memory SQLite).
 *
 * Backends, all started at once with the same catalog and measured in the
 * same rounds, each round in a rotated order:
 *   off         auditLog.enabled: false
 *   floor       off, plus two synchronous writes of a record-sized line per
 *               request (floorPreload.ts): what two records cost at least
 *   on          the defaults: stdout (sync) and the embedded store (SQLite)
 *   on-batched  as on, auditLog.stdout.delivery: batched
 *   on-pg       as on, the store on PostgreSQL (a throwaway database)
 *
 * Per round and endpoint: saturated throughput (autocannon, 10 connections),
 * then an open-loop fixed rate of a quarter of OFF's saturated throughput in
 * that round, the backends taking turns in one-second slices, during which
 * each backend's CPU time is read from /proc (its idle background, measured
 * while the others are driven, subtracted). Ratios and deltas are taken
 * within a round; the results are their medians.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import knexFactory from 'knex';
import { parseArgs } from '../lib/args';
import { failChild, sendResult } from '../lib/child';
import { buildRecords } from '../lib/records';
import { median, percentile, sleep } from '../lib/stats';
import { componentName, writeCatalog } from './catalog';
import {
  cpuMs,
  ExampleBackendProcess,
  startExampleBackend,
} from './exampleBackend';
import { openLoop } from './openLoop';

const args = parseArgs();
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (args.quick ? 1 : 3));
const SATURATION_S = args.quick ? 2 : 4;
const FIXED_S = Number(process.env.BENCH_FIXED_S ?? (args.quick ? 3 : 8));
/** The fixed rate runs in slices this long, the backends taking turns. */
const SLICE_S = Number(process.env.BENCH_SLICE_S ?? 1);
/** After each slice: a store batch waits up to its 50 ms flush interval. */
const SETTLE_MS = 150;
const WARMUP_S = args.quick ? 1 : 2;
const CONNECTIONS = 10;
/** The fixed rate, as a share of OFF's saturated throughput in the round. */
export const FIXED_LOAD = 0.25;

const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2;
const DRIVER_CPU = 0;
const BACKEND_CPU = 1;

function pinTo(pid: number, cpu: number): void {
  if (!PIN) {
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

export type E2eMode =
  | 'off'
  | 'floor'
  | 'on'
  | 'on-batched'
  | 'on-pg'
  // Diagnostic (BENCH_MODES=off,on,on-nostore,...): where ON's cost goes;
  // off-b is a second OFF process, for the spread between identical backends.
  | 'off-b'
  | 'on-nostore'
  | 'on-nostdout'
  | 'on-nosinks';

interface Endpoint {
  key: string;
  label: string;
  path: string;
}

export interface SaturatedRun {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

export interface FixedRun {
  rate: number;
  completed: number;
  errors: number;
  p50: number;
  p99: number;
  /** Server CPU per request (µs), the idle background subtracted: the median of the slices. */
  cpuUs: number;
  /** The same for each slice (cycle of turns) of the round, in order. */
  sliceCpuUs: number[];
  /** The idle background, in ms of CPU per second. */
  idleCpuMsPerSec: number;
}

export interface E2eModeSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  fixed: { p50Ms: number; p99Ms: number; cpuUs: number };
}

/** A mode against OFF: medians of the per-round ratios and deltas. */
export interface E2eVsOff {
  throughputRatio: number;
  cpuRatio: number;
  cpuAddedUs: number;
  p50DeltaMs: number;
  p99DeltaMs: number;
}

export interface E2eEndpointResult {
  key: string;
  label: string;
  /** Median fixed rate (a quarter of OFF's saturated throughput per round). */
  rate: number;
  modes: Partial<Record<E2eMode, E2eModeSummary>>;
  vsOff: Partial<Record<E2eMode, E2eVsOff>>;
  rounds: Array<{
    rate: number;
    saturated: Partial<Record<E2eMode, SaturatedRun>>;
    fixed: Partial<Record<E2eMode, FixedRun>>;
  }>;
}

export interface E2eResult {
  backend: string;
  entities: number;
  rounds: number;
  saturationSec: number;
  fixedSec: number;
  connections: number;
  fixedLoad: number;
  pinned: boolean;
  modes: E2eMode[];
  skippedModes: Array<{ mode: string; reason: string }>;
  startupMs: Partial<Record<E2eMode, number>>;
  endpoints: E2eEndpointResult[];
  /** Audit lines each backend's stdout held at the end. */
  auditLines: Partial<Record<E2eMode, number>>;
  loadAvg: { start: number[]; end: number[] };
}

function endpoints(): Endpoint[] {
  const mid = componentName(Math.floor(ENTITIES / 2));
  return [
    {
      key: 'byName',
      label: 'GET /entities/by-name/…',
      path: `/api/catalog/entities/by-name/component/default/${mid}`,
    },
    {
      key: 'list',
      label: 'GET /entities?limit=20',
      path: '/api/catalog/entities?limit=20',
    },
    {
      key: 'byQuery',
      label: 'GET /entities/by-query?filter…',
      path: '/api/catalog/entities/by-query?filter=kind=component,spec.type=service&limit=20&fields=kind,metadata.name,spec.owner',
    },
  ];
}

async function saturate(
  b: ExampleBackendProcess,
  e: Endpoint,
  seconds: number,
): Promise<SaturatedRun> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${b.base}${e.path}`,
        headers: { authorization: `Bearer ${b.token}` },
        connections: CONNECTIONS,
        duration: seconds,
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
    // autocannon's histogram has 1 ms resolution; keep every latency instead.
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
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * The fixed-rate phase of one round and endpoint: every backend gets the
 * same open-loop rate, in one-second slices taken in turn (`order`, repeated
 * until each has had FIXED_S seconds), so that the machine's drift, which on
 * a shared VM moves CPU per request by more than the differences being
 * measured, falls on every backend alike. A backend's CPU while others are
 * driven is its idle background (timers, the catalog's loops); that rate is
 * subtracted from its driven time.
 */
async function fixedRates(
  backends: Partial<Record<E2eMode, ExampleBackendProcess>>,
  order: E2eMode[],
  e: Endpoint,
  rate: number,
): Promise<Partial<Record<E2eMode, FixedRun>>> {
  for (const mode of order) {
    const b = backends[mode]!;
    if (!fs.existsSync(`/proc/${b.pid}/stat`)) {
      throw new Error(
        `backend ${b.mode} exited:\n${fs.readFileSync(b.logFile, 'utf8').slice(-3000)}`,
      );
    }
  }
  const acc = new Map(
    order.map(mode => [
      mode,
      {
        idleMs: 0,
        idleSec: 0,
        completed: 0,
        errors: 0,
        latencies: [] as number[],
        slices: [] as Array<{ usedMs: number; sec: number; completed: number }>,
        agent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      },
    ]),
  );
  const slices = Math.max(1, Math.round(FIXED_S / SLICE_S));
  try {
    for (let slice = 0; slice < slices; slice++) {
      for (const mode of order) {
        const b = backends[mode]!;
        const a = acc.get(mode)!;
        const before = order.map(m => cpuMs(backends[m]!.pid));
        const t = performance.now();
        const run = await openLoop({
          url: `${b.base}${e.path}`,
          headers: { authorization: `Bearer ${b.token}` },
          rate,
          seconds: SLICE_S,
          agent: a.agent,
        });
        // Work a request leaves behind (a store batch flushed on its timer)
        // belongs to the driven backend, not to its idle background.
        await sleep(SETTLE_MS);
        const sec = (performance.now() - t) / 1000;
        for (const [i, m] of order.entries()) {
          const used = cpuMs(backends[m]!.pid) - before[i];
          const x = acc.get(m)!;
          if (m === mode) {
            x.slices.push({ usedMs: used, sec, completed: run.completed });
          } else {
            x.idleMs += used;
            x.idleSec += sec;
          }
        }
        a.completed += run.completed;
        a.errors += run.errors;
        a.latencies.push(...run.latencies);
      }
    }
  } finally {
    for (const a of acc.values()) {
      a.agent.destroy();
    }
  }
  const out: Partial<Record<E2eMode, FixedRun>> = {};
  for (const [mode, a] of acc) {
    const idleCpuMsPerSec = a.idleSec > 0 ? a.idleMs / a.idleSec : 0;
    // Per slice, so that a background task (the catalog's cleanup, a GC)
    // landing in one slice moves one value, not the round's total.
    const sliceCpuUs = a.slices.map(x =>
      x.completed > 0
        ? ((x.usedMs - idleCpuMsPerSec * x.sec) * 1000) / x.completed
        : NaN,
    );
    out[mode] = {
      rate,
      completed: a.completed,
      errors: a.errors,
      p50: percentile(a.latencies, 50),
      p99: percentile(a.latencies, 99),
      cpuUs: median(sliceCpuUs.filter(Number.isFinite)),
      sliceCpuUs,
      idleCpuMsPerSec,
    };
  }
  return out;
}

async function postgresReachable(): Promise<string | undefined> {
  const knex = knexFactory({
    client: 'pg',
    connection: { host: '127.0.0.1', port: 5432, user: 'postgres' },
  });
  try {
    await knex.raw('select 1');
    return undefined;
  } catch (error) {
    return String((error as Error).message ?? error);
  } finally {
    await knex.destroy();
  }
}

/** Runs one statement on the server's `postgres` database. */
async function onPostgres(sql: string, name: string): Promise<void> {
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
    await knex.raw(sql, [name]);
  } finally {
    await knex.destroy();
  }
}

async function dropDatabase(name: string): Promise<void> {
  await onPostgres('DROP DATABASE IF EXISTS ?? WITH (FORCE)', name);
}

async function waitForCatalog(b: ExampleBackendProcess): Promise<number> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const res = await fetch(
      `${b.base}/api/catalog/entities/by-query?filter=kind=component,metadata.tags=bench&limit=1`,
      { headers: { authorization: `Bearer ${b.token}` } },
    );
    if (res.ok) {
      const total = ((await res.json()) as { totalItems: number }).totalItems;
      if (total >= ENTITIES) {
        return total;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${b.mode}: the catalog never held ${ENTITIES} components`,
      );
    }
    await sleep(1000);
  }
}

function auditLineCount(file: string): number {
  let n = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.includes('"isAuditLog":true')) {
      n++;
    }
  }
  return n;
}

async function main(): Promise<void> {
  const loadStart = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-e2e-'));
  const catalogFile = writeCatalog(dir, ENTITIES);
  const floorLines = path.join(dir, 'floor-lines.jsonl');
  const [initiation, completion] = await buildRecords(2);
  fs.writeFileSync(floorLines, `${initiation.line}\n${completion.line}\n`);
  const pgDatabase = `bench_audit_${process.pid}_${Date.now().toString(36)}`;

  // Both the example files and the generated components; processing is
  // slowed to once an hour so the catalog's loop does not run mid-round.
  const common = `catalog:
  processingInterval: { minutes: 60 }
  locations:
    - type: file
      target: ./packages/backend/examples/locations.yaml
    - type: file
      target: ${catalogFile}
`;
  const skippedModes: E2eResult['skippedModes'] = [];
  const modes: E2eMode[] = process.env.BENCH_MODES
    ? (process.env.BENCH_MODES.split(',') as E2eMode[])
    : ['off', 'floor', 'on'];
  if (!process.env.BENCH_MODES && (!args.quick || process.env.BENCH_E2E_ALL)) {
    modes.push('on-batched');
    const pgError = await postgresReachable();
    if (pgError) {
      skippedModes.push({ mode: 'on-pg', reason: pgError });
    } else {
      // Created here: the backend's own existence check for a plugin
      // database runs on the default client (SQLite) when only the plugin's
      // client is pg, and fails; `ensureExists: false` skips it.
      await onPostgres('CREATE DATABASE ??', pgDatabase);
      modes.push('on-pg');
    }
  }
  const extra: Record<E2eMode, string> = {
    off: 'auditLog:\n  enabled: false\n',
    'off-b': 'auditLog:\n  enabled: false\n',
    floor: 'auditLog:\n  enabled: false\n',
    on: '',
    'on-batched': 'auditLog:\n  stdout:\n    delivery: batched\n',
    'on-nostore': 'auditLog:\n  store:\n    enabled: false\n',
    'on-nostdout': 'auditLog:\n  stdout:\n    enabled: false\n',
    'on-nosinks':
      'auditLog:\n  stdout:\n    enabled: false\n  store:\n    enabled: false\n',
    'on-pg': '',
  };
  const backends: Partial<Record<E2eMode, ExampleBackendProcess>> = {};
  /** Every start, so that a backend still starting when another fails is stopped too. */
  const starting: Promise<ExampleBackendProcess>[] = [];
  try {
    await Promise.all(
      modes.map(async mode => {
        const started = startExampleBackend({
          mode,
          dir,
          extraConfig: `${common}${extra[mode]}`,
          backendConfig:
            mode === 'on-pg'
              ? `  database:\n    plugin:\n      audit-log:\n        client: pg\n        ensureExists: false\n        connection:\n          host: 127.0.0.1\n          port: 5432\n          user: postgres\n          database: ${pgDatabase}\n`
              : undefined,
          nodeArgs:
            mode === 'floor'
              ? ['--import', path.join(__dirname, 'floorPreload.ts')]
              : [],
          env: mode === 'floor' ? { BENCH_FLOOR_LINES: floorLines } : {},
        });
        starting.push(started);
        try {
          backends[mode] = await started;
        } catch (error) {
          // The extra rows must not cost the main ones.
          if (['off', 'floor', 'on'].includes(mode)) {
            throw error;
          }
          skippedModes.push({
            mode,
            reason: String((error as Error).message).slice(0, 2000),
          });
        }
      }),
    );
    for (const s of skippedModes) {
      const i = modes.indexOf(s.mode as E2eMode);
      if (i !== -1) {
        modes.splice(i, 1);
      }
    }
    for (const mode of modes) {
      await waitForCatalog(backends[mode]!);
    }
    // Pinned once started: the backends share one CPU, the driver the other.
    for (const mode of modes) {
      pinTo(backends[mode]!.pid, BACKEND_CPU);
    }
    pinTo(process.pid, DRIVER_CPU);
    await sleep(2000);

    const only = process.env.BENCH_ENDPOINTS?.split(',');
    const list = endpoints().filter(e => !only || only.includes(e.key));
    for (const e of list) {
      for (const mode of modes) {
        const warm = await saturate(backends[mode]!, e, WARMUP_S);
        if (warm.requests === 0 || warm.errors > 0) {
          throw new Error(
            `${mode} ${e.label}: warm-up got ${warm.requests} responses, ${warm.errors} errors`,
          );
        }
      }
    }

    const results: E2eEndpointResult[] = list.map(e => ({
      key: e.key,
      label: e.label,
      rate: 0,
      modes: {},
      vsOff: {},
      rounds: [],
    }));
    for (let round = 0; round < ROUNDS; round++) {
      const order = modes.map((_, i) => modes[(i + round) % modes.length]);
      for (const [i, e] of list.entries()) {
        const saturated: Partial<Record<E2eMode, SaturatedRun>> = {};
        for (const mode of order) {
          saturated[mode] = await saturate(backends[mode]!, e, SATURATION_S);
          await sleep(300);
        }
        const rate = Math.max(10, Math.round(saturated.off!.rps * FIXED_LOAD));
        const fixed = await fixedRates(backends, order, e, rate);
        results[i].rounds.push({ rate, saturated, fixed });
        process.stderr.write(
          `[e2e] round ${round + 1}/${ROUNDS} ${e.key} at ${rate}/s: ${modes
            .map(
              m =>
                `${m} ${Math.round(saturated[m]!.rps)} req/s ${Math.round(
                  fixed[m]!.cpuUs,
                )} µs p50 ${fixed[m]!.p50.toFixed(2)} ms`,
            )
            .join('; ')}\n`,
        );
      }
    }

    for (const r of results) {
      r.rate = median(r.rounds.map(x => x.rate));
      for (const mode of modes) {
        const rs = r.rounds;
        r.modes[mode] = {
          rps: median(rs.map(x => x.saturated[mode]!.rps)),
          p50Ms: median(rs.map(x => x.saturated[mode]!.p50)),
          p99Ms: median(rs.map(x => x.saturated[mode]!.p99)),
          fixed: {
            p50Ms: median(rs.map(x => x.fixed[mode]!.p50)),
            p99Ms: median(rs.map(x => x.fixed[mode]!.p99)),
            cpuUs: median(
              rs
                .flatMap(x => x.fixed[mode]!.sliceCpuUs)
                .filter(Number.isFinite),
            ),
          },
        };
        if (mode !== 'off') {
          r.vsOff[mode] = {
            throughputRatio: median(
              rs.map(x => x.saturated[mode]!.rps / x.saturated.off!.rps),
            ),
            // Each round's median slice against OFF's: an A/A run (two OFF
            // backends, BENCH_MODES=off,off-b) showed per-cycle ratios
            // skewed by bursts that hit one backend's slice.
            cpuRatio: median(
              rs.map(x => x.fixed[mode]!.cpuUs / x.fixed.off!.cpuUs),
            ),
            cpuAddedUs: median(
              rs.map(x => x.fixed[mode]!.cpuUs - x.fixed.off!.cpuUs),
            ),
            p50DeltaMs: median(
              rs.map(x => x.fixed[mode]!.p50 - x.fixed.off!.p50),
            ),
            p99DeltaMs: median(
              rs.map(x => x.fixed[mode]!.p99 - x.fixed.off!.p99),
            ),
          };
        }
      }
    }

    const startupMs: E2eResult['startupMs'] = {};
    for (const mode of modes) {
      startupMs[mode] = backends[mode]!.startedMs;
    }
    await Promise.all(modes.map(mode => backends[mode]!.stop()));
    const auditLines: E2eResult['auditLines'] = {};
    for (const mode of modes) {
      auditLines[mode] = auditLineCount(backends[mode]!.logFile);
    }
    const result: E2eResult = {
      backend:
        'packages/backend as `npm start` runs it (guest sign-in, permission backend, catalog + scaffolder on in-memory SQLite)',
      entities: ENTITIES,
      rounds: ROUNDS,
      saturationSec: SATURATION_S,
      fixedSec: FIXED_S,
      connections: CONNECTIONS,
      fixedLoad: FIXED_LOAD,
      pinned: PIN,
      modes,
      skippedModes,
      startupMs,
      endpoints: results,
      auditLines,
      loadAvg: { start: loadStart, end: os.loadavg() },
    };
    await sendResult(result);
  } finally {
    await Promise.all(
      Object.values(backends).map(b => b?.stop().catch(() => {})),
    );
    for (const result of await Promise.allSettled(starting)) {
      if (result.status === 'fulfilled') {
        await result.value.stop().catch(() => {});
      }
    }
    if (modes.includes('on-pg')) {
      await dropDatabase(pgDatabase).catch(() => {});
    }
    if (!process.env.BENCH_KEEP_LOGS) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else {
      process.stderr.write(`[e2e] logs kept in ${dir}\n`);
    }
  }
}

main().catch(failChild);
