/**
 * One backend of the end-to-end benchmark (child process): the real catalog
 * and scaffolder on startTestBackend, with the audit log installed as an
 * adopter installs it, serving HTTP on loopback. Its stdout (the audit
 * lines and the ordinary logs) goes to a file chosen by the driver.
 *
 * argv: --mode=on|off|floor|on-nostore|on-nostdout --catalog=<file> --entities=<n> [--pg-prefix=<prefix>]
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import type { JsonObject } from '@backstage/types';
import {
  auditLogServiceRef,
  AuditLogService,
  DefaultAuditLogService,
  WinstonStreamSink,
} from '@backstage-audit/plugin-audit-log-node';
import { auditRootLoggerServiceFactory } from '@backstage-audit/plugin-audit-log-backend';
import catalogAuditModule from '@backstage-audit/plugin-catalog-backend-module-audit-log';
import scaffolderAuditModule from '@backstage-audit/plugin-scaffolder-backend-module-audit-log';
import {
  allowFileLocations,
  CATALOG_RULES,
} from '../../test/support/auditedBackend';
import { BenchMessage, failChild } from '../lib/child';
import { buildRecords } from '../lib/records';

const arg = (name: string) =>
  process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * The floor: the least any audit that writes two records per request can
 * cost. Our audit log is off; instead, a middleware in front of the plugin's
 * routes serializes a prebuilt record (JSON.stringify) and writes it with one
 * synchronous write to stdout when the request arrives, and another in
 * `res.end`, as ours does. No capture, no redaction, no store.
 */
function floorModule(pluginId: string) {
  const [initiation, completion] = buildRecords(2).map(r => r.record);
  return createBackendModule({
    pluginId,
    moduleId: 'bench-floor-audit',
    register(reg) {
      reg.registerInit({
        deps: { httpRouter: coreServices.httpRouter },
        async init({ httpRouter }) {
          httpRouter.use((_req, res, next) => {
            fs.writeSync(1, `${JSON.stringify(initiation)}\n`);
            const end = res.end;
            res.end = function floorEnd(this: typeof res, ...args: unknown[]) {
              fs.writeSync(1, `${JSON.stringify(completion)}\n`);
              return (end as (...a: unknown[]) => typeof res).apply(this, args);
            } as typeof res.end;
            next();
          });
        },
      });
    },
  });
}

/** `auditLog` config per mode: the benchmark compares off, on and the floor; the others help profiling. */
const AUDIT_CONFIG: Record<string, JsonObject> = {
  off: { enabled: false },
  on: {},
  floor: { enabled: false },
  'on-nostore': { store: { enabled: false } },
  'on-nostdout': { stdout: { enabled: false } },
  'on-nosinks': { stdout: { enabled: false }, store: { enabled: false } },
};

let auditLog: AuditLogService | undefined;

/** BENCH_INSTRUMENT=1: time spent in emit() and in the stdout sink (for profile.ts). */
const emitTiming = {
  calls: 0,
  ns: 0,
  sinkCalls: 0,
  sinkNs: 0,
  sqlPrepares: 0,
  sql: {} as Record<string, number>,
};
if (process.env.BENCH_INSTRUMENT) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as {
    prototype: { prepare: (sql: string) => unknown };
  };
  const prepare = Database.prototype.prepare;
  Database.prototype.prepare = function countedPrepare(
    this: unknown,
    sql: string,
  ) {
    emitTiming.sqlPrepares++;
    const key = sql.slice(0, 60);
    emitTiming.sql[key] = (emitTiming.sql[key] ?? 0) + 1;
    return prepare.call(this, sql);
  };
  const sinkProto = WinstonStreamSink.prototype;
  const write = sinkProto.write;
  sinkProto.write = function timedWrite(this: WinstonStreamSink, record, line) {
    const t = process.hrtime.bigint();
    try {
      return write.call(this, record, line);
    } finally {
      emitTiming.sinkNs += Number(process.hrtime.bigint() - t);
      emitTiming.sinkCalls++;
    }
  };
  const proto = DefaultAuditLogService.prototype;
  const emit = proto.emit;
  proto.emit = function timedEmit(this: DefaultAuditLogService, event) {
    const t = process.hrtime.bigint();
    try {
      return emit.call(this, event);
    } finally {
      emitTiming.ns += Number(process.hrtime.bigint() - t);
      emitTiming.calls++;
    }
  };
}
/** Reaches the root audit log service, to report its counters. */
const probe = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'bench-probe',
  register(reg) {
    reg.registerInit({
      deps: {
        auditLogService: auditLogServiceRef,
        logger: coreServices.logger,
      },
      async init({ auditLogService }) {
        auditLog = auditLogService;
      },
    });
  },
});

async function main(): Promise<void> {
  const mode = arg('mode');
  const catalogFile = arg('catalog');
  const entities = Number(arg('entities'));
  const pgPrefix = arg('pg-prefix');
  if (!mode || !(mode in AUDIT_CONFIG) || !catalogFile || !(entities > 0)) {
    throw new Error(
      `usage: --mode=${Object.keys(AUDIT_CONFIG).join('|')} --catalog=<file> --entities=<n>`,
    );
  }
  const started = Date.now();
  const profiler = new inspector.Session();
  const config: JsonObject = {
    permission: { enabled: true },
    catalog: {
      rules: CATALOG_RULES,
      locations: [{ type: 'file', target: catalogFile }],
      // Ingest once; no re-processing of the whole catalog in the middle of a run.
      processingInterval: { minutes: 60 },
    },
    auditLog: AUDIT_CONFIG[mode],
  };
  if (pgPrefix) {
    config.backend = {
      database: {
        client: 'pg',
        connection: { host: '127.0.0.1', port: 5432, user: 'postgres' },
        prefix: pgPrefix,
      },
    };
  }
  const backend = await startTestBackend({
    features: [
      import('@backstage-audit/plugin-audit-log-backend'),
      catalogAuditModule,
      scaffolderAuditModule,
      auditRootLoggerServiceFactory,
      import('@backstage/plugin-catalog-backend'),
      import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
      import('@backstage/plugin-scaffolder-backend'),
      mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
      allowFileLocations,
      probe,
      ...(mode === 'floor'
        ? [floorModule('catalog'), floorModule('scaffolder')]
        : []),
      mockServices.rootConfig.factory({ data: config }),
    ],
  });
  const port = (backend.server.address() as { port: number }).port;
  const authorization = mockCredentials.user.header('user:default/bench');
  const base = `http://127.0.0.1:${port}`;

  // Wait until the whole catalog file is ingested and stitched.
  let total = 0;
  const deadline = Date.now() + 15 * 60_000;
  while (total < entities) {
    if (Date.now() > deadline) {
      throw new Error(`only ${total} of ${entities} components ingested`);
    }
    await new Promise(r => setTimeout(r, 1000));
    const res = await fetch(
      `${base}/api/catalog/entities/by-query?filter=kind=component&limit=1`,
      { headers: { authorization } },
    );
    if (res.ok) {
      total = ((await res.json()) as { totalItems: number }).totalItems;
    }
  }
  const startedMs = Date.now() - started;

  process.on('message', (m: BenchMessage) => {
    if (m.type === 'stats') {
      process.send!({
        type: 'stats',
        stats: auditLog?.stats() ?? null,
        emitTiming,
      });
    } else if (m.type === 'profile-start') {
      profiler.connect();
      profiler.post('Profiler.enable', () =>
        profiler.post('Profiler.start', () => {
          if (!process.env.BENCH_HEAP_PROFILE) {
            process.send!({ type: 'profiling' });
            return;
          }
          // Allocation sampling, counting objects the GC has already freed:
          // where the garbage of a request comes from.
          profiler.post(
            'HeapProfiler.startSampling',
            {
              samplingInterval: 4096,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC:
                !process.env.BENCH_HEAP_PROMOTED,
            },
            () => process.send!({ type: 'profiling' }),
          );
        }),
      );
    } else if (m.type === 'profile-stop') {
      if (process.env.BENCH_HEAP_PROFILE) {
        profiler.post('HeapProfiler.stopSampling', (error, result) => {
          if (!error) {
            fs.writeFileSync(
              String(m.file).replace(/\.cpuprofile$/, '.heapprofile'),
              JSON.stringify(result.profile),
            );
          }
        });
      }
      profiler.post('Profiler.stop', (error, result) => {
        if (!error) {
          fs.writeFileSync(String(m.file), JSON.stringify(result.profile));
        }
        profiler.disconnect();
        process.send!({
          type: 'profiled',
          error: error ? String(error) : undefined,
        });
      });
    } else if (m.type === 'stop') {
      backend
        .stop()
        .catch(() => {})
        .finally(() =>
          process.send!({ type: 'stopped' }, () => process.exit(0)),
        );
    }
  });
  process.send!({
    type: 'ready',
    port,
    authorization,
    startedMs,
    entities: total,
  });
}

main().catch(failChild);
