/**
 * The variants of the record pipeline micro-benchmark (see micro.ts).
 *
 * Every variant writes the same representative record (a
 * CatalogEntityFetchByName completion, ~1.1 KB) to its own file in a temp
 * dir with one synchronous write per record. Variants run in rounds, in a
 * rotated order, so machine noise hits all of them alike; each round's
 * ratios are taken against the raw baseline of the same round.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Request, Response } from 'express';
import * as winston from 'winston';
import pino from 'pino';
import { ConfigReader } from '@backstage/config';
import type {
  AuthService,
  BackstageCredentials,
  HttpAuthService,
  PluginMetadataService,
} from '@backstage/backend-plugin-api';
import type { Writable } from 'node:stream';
import type { AuditRecord } from '../../plugins/audit-log-node/src';
import { createAuditCapture } from '../../plugins/audit-log-backend/src/capture/createAuditCapture';
import { catalogAuditRoutes } from '../../plugins/catalog-backend-module-audit-log/src/catalogAuditRoutes';
import knexFactory from 'knex';
import type { AuditStore } from '../../plugins/audit-log-backend/src/database/AuditStore';
import { KnexAuditStore } from '../../plugins/audit-log-backend/src/database/KnexAuditStore';
import { benchPipeline, BenchPipeline } from '../lib/pipeline';
import { LineCollector, SyncFileStream } from '../lib/SyncFileStream';
import {
  ACTOR_ID,
  BASE_URL,
  CLIENT_IP,
  ENTITY_REF,
  FIELDS,
  fixtureCompletionEvent,
  PARAMS,
  QUERY,
  RESPONSE_BODY,
  USER_AGENT,
} from './fixture';

export interface Variant {
  key: string;
  label: string;
  /** Records written per operation (an HTTP request writes two). */
  recordsPerOp: number;
  baseline: 'raw' | 'rawPair';
  file: string;
  note?: string;
  run(ops: number): void | Promise<void>;
  close?(): void;
}

export const tick = () => new Promise<void>(resolve => setImmediate(resolve));

// --- stand-ins for the Backstage services every variant resolves the actor through

const credentials = {
  $$type: '@backstage/BackstageCredentials',
  principal: { type: 'user', userEntityRef: ACTOR_ID },
} as unknown as BackstageCredentials;
const httpAuth = {
  credentials: async () => credentials,
  issueUserCookie: async () => ({ expiresAt: new Date() }),
} as unknown as HttpAuthService;
const auth = {
  getOwnServiceCredentials: async () => credentials,
  isPrincipal: (c: BackstageCredentials, type: string) =>
    (c.principal as { type: string }).type === type,
} as unknown as AuthService;
const plugin: PluginMetadataService = { getId: () => 'catalog' };

/**
 * Distinct entities the capture variants' requests spread over, as a portal's
 * traffic does: the redactor's memo of clean strings must earn its hits on
 * what really repeats (the actor, a request's URL in both of its records),
 * not on one URL sent forever.
 */
export const FIXTURE_ENTITIES = 10_000;

/** The fixture request for entity `n` (`payments-service-0042` by default). */
function entityFixture(n: number): {
  path: string;
  originalUrl: string;
  params: Record<string, string>;
} {
  const name = `payments-service-${String(n).padStart(4, '0')}`;
  const path = `/entities/by-name/component/default/${name}`;
  return {
    path,
    originalUrl: `${BASE_URL}${path}?fields=${FIELDS}`,
    params: { ...PARAMS, name },
  };
}

/** What express hands a handler for the fixture request (fresh per request, as express makes it). */
export function fakeRequest(entity = 42): Request {
  const headers: Record<string, string> = {
    host: 'backstage.example.com',
    'user-agent': USER_AGENT,
    accept: 'application/json',
    authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl',
  };
  const { path: reqPath, originalUrl, params } = entityFixture(entity);
  return {
    method: 'GET',
    baseUrl: BASE_URL,
    path: reqPath,
    url: originalUrl.slice(BASE_URL.length),
    originalUrl,
    query: { ...QUERY },
    params,
    body: {},
    headers,
    ip: CLIENT_IP,
    hostname: 'backstage.example.com',
    socket: { remoteAddress: CLIENT_IP },
    get(name: string) {
      return headers[name.toLowerCase()];
    },
  } as unknown as Request;
}

interface FakeResponse {
  statusCode: number;
  headersSent: boolean;
  writableEnded: boolean;
  closeListener?: () => void;
}

type FakeResponseObject = FakeResponse & Record<string, unknown>;

/**
 * The response surface the capture touches, on a prototype shared by every
 * fake response and owning `app`, as an express app's `app.response` is: the
 * capture hooks it once, as it does in a real backend.
 */
const fakeResponsePrototype: object = Object.create(
  {
    setHeader(this: FakeResponseObject) {
      return this;
    },
    json(this: FakeResponseObject, body: unknown) {
      return (this.end as (b: string) => unknown).call(
        this,
        JSON.stringify(body),
      );
    },
    end(this: FakeResponseObject) {
      this.headersSent = true;
      this.writableEnded = true;
      return this;
    },
    on(this: FakeResponseObject, event: string, listener: () => void) {
      if (event === 'close') {
        this.closeListener = listener;
      }
      return this;
    },
  },
  { app: { value: {}, enumerable: true } },
);

export function fakeResponse(): Response & FakeResponse {
  const res = Object.create(fakeResponsePrototype) as FakeResponseObject;
  res.statusCode = 200;
  res.headersSent = false;
  res.writableEnded = false;
  res.closeListener = undefined;
  return res as unknown as Response & FakeResponse;
}

// --- our pipeline, built as the backend builds it (stdout sink, sync delivery)

/** The pipeline with its stdout sink writing to `stream`. */
export function ourPipeline(
  stream: Writable,
  delivery: 'sync' | 'batched' = 'sync',
  store?: AuditStore,
): Promise<BenchPipeline> {
  return benchPipeline({
    stdout: stream,
    store,
    auditLog: { stdout: { delivery } },
  });
}

/** The store as the example backend has it: KnexAuditStore on in-memory SQLite. */
async function sqliteStore(): Promise<AuditStore> {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
  });
  return KnexAuditStore.fromClient(knex);
}

/**
 * The capture variants' harness: per request, a prebuilt fixture request (in
 * a server the request object exists whether or not the audit runs), a fresh
 * response, `start` where the capture runs, a few microtasks (the actor
 * resolves long before a real handler answers), then `end` and `close`.
 */
export function harnessDriver(
  start: (req: Request, res: Response & FakeResponse) => () => void,
): () => Promise<void> {
  const requests = Array.from({ length: FIXTURE_ENTITIES }, (_, i) =>
    fakeRequest(i),
  );
  let n = 0;
  return async () => {
    const req = requests[n];
    n = (n + 1) % FIXTURE_ENTITIES;
    const res = fakeResponse();
    const finish = start(req, res);
    for (let i = 0; i < 4; i++) {
      await null;
    }
    finish();
    res.closeListener?.();
  };
}

/** Drives one fixture request through the real HTTP capture. */
export function captureDriver(ours: BenchPipeline): () => Promise<void> {
  const { capture } = createAuditCapture({
    pluginId: 'catalog',
    auditLog: ours.pipeline,
    httpAuth,
    config: ours.config,
    routes: catalogAuditRoutes,
    requests: ours.requests,
    actors: ours.actors,
    waiting: ours.pipeline.waits,
  });
  const next = () => {};
  return harnessDriver((req, res) => {
    capture(req, res, next);
    return () => res.end(RESPONSE_BODY);
  });
}

/** The records our capture writes for the fixture request: the baselines write exactly these. */
async function sampleRecords(): Promise<{
  initiation: AuditRecord;
  completion: AuditRecord;
}> {
  const collector = new LineCollector();
  await captureDriver(await ourPipeline(collector))();
  await tick();
  const lines = collector.lines;
  if (lines.length !== 2) {
    throw new Error(`expected 2 records from one request, got ${lines.length}`);
  }
  const [initiation, completion] = lines.map(l => JSON.parse(l) as AuditRecord);
  return { initiation, completion };
}

function withoutLevelAndMessage(record: AuditRecord): Record<string, unknown> {
  const { level: _level, message: _message, ...rest } = record;
  return rest;
}

export interface VariantSet {
  variants: Variant[];
  skipped: { key: string; label: string; reason: string }[];
  /** Bytes of the completion record as one JSON line. */
  recordBytes: number;
}

/** Builds every variant, each writing to its own file in `dir`. */
export async function buildVariants(dir: string): Promise<VariantSet> {
  const { initiation, completion } = await sampleRecords();
  const recordBytes = Buffer.byteLength(JSON.stringify(completion)) + 1;
  const fields = withoutLevelAndMessage(completion);
  const file = (key: string) => path.join(dir, `${key}.jsonl`);

  const emitEvent = fixtureCompletionEvent();
  // Upstream's and RHDH's events carry the same facts; upstream has no
  // request query/params/response fields, so they travel in its meta.
  const upstreamMeta = {
    queryType: 'by-name',
    entityRef: ENTITY_REF,
    query: QUERY,
    params: PARAMS,
    responseStatus: 200,
  };

  const variants: Variant[] = [];
  const skipped: VariantSet['skipped'] = [];

  {
    const fd = fs.openSync(file('raw'), 'a');
    variants.push({
      key: 'raw',
      label: 'raw JSON.stringify + writeSync',
      recordsPerOp: 1,
      baseline: 'raw',
      file: file('raw'),
      note: 'the limit for a JSON-lines writer: the finished record, stringified and written',
      run(ops) {
        for (let i = 0; i < ops; i++) {
          fs.writeSync(fd, `${JSON.stringify(completion)}\n`);
        }
      },
      close: () => fs.closeSync(fd),
    });
  }
  {
    const fd = fs.openSync(file('rawPair'), 'a');
    variants.push({
      key: 'rawPair',
      label: 'raw, initiation + completion pair',
      recordsPerOp: 2,
      baseline: 'raw',
      file: file('rawPair'),
      note: 'baseline of the capture variant: the same two records one request writes',
      run(ops) {
        for (let i = 0; i < ops; i++) {
          fs.writeSync(fd, `${JSON.stringify(initiation)}\n`);
          fs.writeSync(fd, `${JSON.stringify(completion)}\n`);
        }
      },
      close: () => fs.closeSync(fd),
    });
  }
  {
    // The capture variants' harness with nothing of ours in it: what is left
    // of the capture rows' gap to the raw pair is the audit's own.
    const fd = fs.openSync(file('floorCapture'), 'a');
    const request = harnessDriver((_req, res) => {
      fs.writeSync(fd, `${JSON.stringify(initiation)}\n`);
      return () => {
        fs.writeSync(fd, `${JSON.stringify(completion)}\n`);
        res.end(RESPONSE_BODY);
      };
    });
    variants.push({
      key: 'floorCapture',
      label: 'floor: capture harness + raw pair',
      recordsPerOp: 2,
      baseline: 'rawPair',
      file: file('floorCapture'),
      note: "the capture variants' fake request/response and awaits, writing the raw pair instead of capturing",
      async run(ops) {
        for (let i = 0; i < ops; i++) {
          await request();
        }
      },
      close: () => fs.closeSync(fd),
    });
  }
  {
    const { pipeline } = await ourPipeline(SyncFileStream.open(file('ours')));
    variants.push({
      key: 'ours',
      label: 'ours: emit (build+redact+serialize+sink)',
      recordsPerOp: 1,
      baseline: 'raw',
      file: file('ours'),
      note: 'AuditPipeline.emit() of the completion event: build, redact, rhdh format, stdout sink (sync)',
      run(ops) {
        for (let i = 0; i < ops; i++) {
          pipeline.emit(emitEvent);
        }
      },
    });
  }
  {
    const request = captureDriver(
      await ourPipeline(SyncFileStream.open(file('oursCapture'))),
    );
    variants.push({
      key: 'oursCapture',
      label: 'ours: HTTP capture -> 2 records',
      recordsPerOp: 2,
      baseline: 'rawPair',
      file: file('oursCapture'),
      note: 'createAuditCapture middleware on a fake express req/res: route match, actor, initiation + completion',
      async run(ops) {
        for (let i = 0; i < ops; i++) {
          await request();
        }
      },
    });
  }
  {
    const ours = await ourPipeline(
      SyncFileStream.open(file('oursCaptureStore')),
      'sync',
      await sqliteStore(),
    );
    const request = captureDriver(ours);
    variants.push({
      key: 'oursCaptureStore',
      label: 'ours: HTTP capture -> 2 records, stdout + SQLite store',
      recordsPerOp: 2,
      baseline: 'rawPair',
      file: file('oursCaptureStore'),
      note: 'as the capture variant, with the default store sink on in-memory SQLite (KnexAuditStore), as in the example backend; timed until the store has committed every record',
      async run(ops) {
        for (let i = 0; i < ops; i++) {
          await request();
        }
        await ours.pipeline.flush(60_000);
      },
    });
  }
  {
    const { pipeline } = await ourPipeline(
      SyncFileStream.open(file('oursBatched')),
      'batched',
    );
    variants.push({
      key: 'oursBatched',
      label: 'ours: emit, stdout delivery batched',
      recordsPerOp: 1,
      baseline: 'raw',
      file: file('oursBatched'),
      note: 'as ours, with auditLog.stdout.delivery: batched (one write per event-loop turn; a turn every 10 records here, as with 10 requests in flight)',
      async run(ops) {
        for (let i = 0; i < ops; i++) {
          pipeline.emit(emitEvent);
          if (i % 10 === 9) {
            await tick();
          }
        }
      },
    });
  }
  {
    const destination = pino.destination({ dest: file('pino'), sync: true });
    const logger = pino({}, destination);
    variants.push({
      key: 'pino',
      label: 'pino (sync destination)',
      recordsPerOp: 1,
      baseline: 'raw',
      file: file('pino'),
      note: 'logger.info(fields, message), pino.destination({ sync: true })',
      run(ops) {
        for (let i = 0; i < ops; i++) {
          logger.info(fields, completion.message);
        }
      },
      close: () => destination.flushSync(),
    });
  }
  {
    const stream = SyncFileStream.open(file('winston'));
    const logger = winston.createLogger({
      level: 'info',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream })],
    });
    variants.push({
      key: 'winston',
      label: 'winston json + Stream transport',
      recordsPerOp: 1,
      baseline: 'raw',
      file: file('winston'),
      note: 'logger.info(message, fields) with format.json()',
      run(ops) {
        for (let i = 0; i < ops; i++) {
          logger.info(completion.message, fields);
        }
      },
    });
  }
  {
    const { WinstonRootAuditorService } =
      await import('@backstage/backend-defaults/auditor');
    const stream = SyncFileStream.open(file('upstream'));
    const root = WinstonRootAuditorService.create({
      transports: [new winston.transports.Stream({ stream })],
    });
    const auditor = root.forPlugin({
      auth,
      httpAuth,
      plugin,
      config: new ConfigReader({}),
    });
    variants.push({
      key: 'upstream',
      label: 'upstream auditor (backend-defaults)',
      recordsPerOp: 2,
      baseline: 'raw',
      file: file('upstream'),
      note: "WinstonRootAuditorService: createEvent() + success() write 'initiated' and 'succeeded' records; severity medium (low, the catalog's read severity, maps to debug and is not written by default)",
      async run(ops) {
        for (let i = 0; i < ops; i++) {
          const event = await auditor.createEvent({
            eventId: 'entity-fetch',
            severityLevel: 'medium',
            request: fakeRequest(),
            meta: upstreamMeta,
          });
          await event.success();
        }
      },
    });
  }
  try {
    const { DefaultAuditLogger } =
      await import('@janus-idp/backstage-plugin-audit-log-node');
    const { WinstonLogger } =
      await import('@backstage/backend-defaults/rootLogger');
    const stream = SyncFileStream.open(file('rhdh'));
    const rootLogger = WinstonLogger.create({
      level: 'info',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream })],
    });
    const auditLogger = new DefaultAuditLogger({
      logger: rootLogger.child({ plugin: 'catalog' }),
      authService: auth,
      httpAuthService: httpAuth,
    });
    variants.push({
      key: 'rhdh',
      label: 'RHDH DefaultAuditLogger.auditLog',
      recordsPerOp: 1,
      baseline: 'raw',
      file: file('rhdh'),
      note: '@janus-idp/backstage-plugin-audit-log-node 1.7.1 on a backend-defaults WinstonLogger (json), as RHDH wires it',
      async run(ops) {
        for (let i = 0; i < ops; i++) {
          await auditLogger.auditLog({
            eventName: 'CatalogEntityFetchByName',
            message: `Fetch attempt of entity ${ENTITY_REF} succeeded`,
            stage: 'completion',
            status: 'succeeded',
            request: fakeRequest(),
            response: { status: 200 },
            metadata: { entityRef: ENTITY_REF },
          });
        }
      },
    });
  } catch (error) {
    skipped.push({
      key: 'rhdh',
      label: 'RHDH DefaultAuditLogger.auditLog',
      reason: `could not load @janus-idp/backstage-plugin-audit-log-node: ${String(
        (error as Error).message,
      )}`,
    });
  }

  return { variants, skipped, recordBytes };
}
