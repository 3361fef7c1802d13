import { Writable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import {
  AUDIT_SCHEMA_VERSION,
  AuditActor,
  AuditEventInput,
  AuditFormat,
  AuditLevel,
  AuditRecord,
  AuditSinkType,
  REDACTED,
} from '@backstage-audit/plugin-audit-log-node';
import { readAuditLogConfig } from '../config';
import { AuditActorResolver } from '../capture/AuditActorResolver';
import { AuditRequestRegistry } from '../capture/AuditRequestRegistry';
import { rhdhFormat, serializeAuditRecord } from '../formats/rhdhFormat';
import { StdoutTransport } from '../sinks/StdoutTransport';
import { AuditPipeline } from './AuditPipeline';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import { assertValidRecords } from '../../../../test/support/recordSchema';

const UUID_RE =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Collected {
  stream: Writable;
  /** Everything written, as one string. */
  text(): string;
  /** Complete lines written, each parsed. */
  records(): AuditRecord[];
}

function collectingStream(fail?: () => Error | undefined): Collected {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const error = fail?.();
      if (error) {
        callback(error);
        return;
      }
      chunks.push(chunk.toString());
      callback();
    },
  });
  const text = () => chunks.join('');
  return {
    stream,
    text,
    records: () => {
      const records = text()
        .split('\n')
        .filter(line => line.length > 0)
        .map(line => JSON.parse(line) as AuditRecord);
      assertValidRecords(records);
      return records;
    },
  };
}

function event(overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    plugin: 'catalog',
    eventName: 'CatalogEntityFetch',
    stage: 'completion',
    status: 'succeeded',
    actor: { actorId: 'user:default/jane', ip: '10.0.0.1', client: 'curl/8' },
    ...overrides,
  };
}

/** A sink type writing to a stream the test reads (stdout's transport, on another stream). */
function streamSinkType(type: string, stream: Writable): AuditSinkType {
  return {
    type,
    deliveryModes: ['sync', 'batched', 'best-effort', 'blocking', 'strict'],
    create: () => StdoutTransport.create({ stream }),
  };
}

/** A sink type whose transport throws on every write, breaking its contract. */
function throwingSinkType(): AuditSinkType & { calls: number } {
  const type = {
    type: 'broken',
    calls: 0,
    deliveryModes: ['sync'] as const,
    create: () => ({
      writeSync() {
        type.calls++;
        throw new Error('sink exploded');
      },
      async deliver() {
        throw new Error('sink exploded');
      },
    }),
  };
  return type;
}

function recordingLogger() {
  const messages: string[] = [];
  const logger = mockServices.logger.mock();
  logger.error.mockImplementation((message: string) => {
    messages.push(message);
  });
  logger.child.mockReturnValue(logger);
  return Object.assign(logger, { messages });
}

interface SetupOptions {
  auditLog?: Record<string, unknown>;
  sinkLevel?: AuditLevel;
  logger?: ReturnType<typeof recordingLogger>;
  sinkTypes?: AuditSinkType[];
  formats?: AuditFormat[];
  failureReportIntervalMs?: number;
}

/** The real pipeline from config, its stdout sink on a stream the test reads. */
async function setup(options: SetupOptions = {}) {
  const out = collectingStream();
  const config = readAuditLogConfig(
    new ConfigReader({
      auditLog: {
        store: { enabled: false },
        stdout: { level: options.sinkLevel ?? 'silly' },
        ...options.auditLog,
      },
    }),
  );
  const service = await AuditPipeline.create({
    config,
    formats: options.formats ?? [rhdhFormat],
    sinkTypes: [
      streamSinkType('stdout', out.stream),
      ...(options.sinkTypes ?? []),
    ],
    requests: AuditRequestRegistry.create(),
    actors: AuditActorResolver.create({ trustProxy: false }),
    logger: options.logger ?? recordingLogger(),
    failureReportIntervalMs: options.failureReportIntervalMs,
  });
  return { service, out };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('AuditPipeline', () => {
  describe('emit', () => {
    it('writes exactly one JSON line per record', async () => {
      const { service, out } = await setup();
      const before = Date.now();
      service.emit(event({ auditId: 'audit-1' }));
      service.emit(event({ auditId: 'audit-2', stage: 'initiation' }));
      const after = Date.now();

      const text = out.text();
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[2]).toBe('');

      const records = lines.slice(0, 2).map(l => JSON.parse(l) as AuditRecord);
      expect(records.map(r => r.auditId)).toEqual(['audit-1', 'audit-2']);
      const [first] = records;
      expect(first).toMatchObject({
        isAuditLog: true,
        schemaVersion: AUDIT_SCHEMA_VERSION,
        level: 'info',
        plugin: 'catalog',
        eventName: 'CatalogEntityFetch',
        stage: 'completion',
        status: 'succeeded',
        message: 'CatalogEntityFetch completion succeeded',
        actor: {
          actorId: 'user:default/jane',
          ip: '10.0.0.1',
          client: 'curl/8',
        },
      });
      expect(first.timestamp).toMatch(/Z$/);
      expect(new Date(first.timestamp).toISOString()).toBe(first.timestamp);
      const time = Date.parse(first.timestamp);
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    });

    it('writes the line the record serializes to', async () => {
      const { service, out } = await setup();
      service.emit(event({ auditId: 'x' }));
      const [record] = out.records();
      expect(out.text()).toBe(`${serializeAuditRecord(record)}\n`);
    });

    it('generates a UUID when no auditId is given', async () => {
      const { service, out } = await setup();
      service.emit(event());
      service.emit(event());
      const [a, b] = out.records().map(r => r.auditId);
      expect(a).toMatch(UUID_RE);
      expect(b).toMatch(UUID_RE);
      expect(a).not.toBe(b);
    });

    it('records a null actor id for unauthenticated requests', async () => {
      const { service, out } = await setup();
      service.emit(event({ actor: { actorId: null } }));
      expect(out.records()[0].actor.actorId).toBeNull();
    });

    it('picks the level: eventLevels override > event.level > defaultLevel', async () => {
      const { service, out } = await setup({
        auditLog: {
          levels: { default: 'verbose', events: { Overridden: 'warn' } },
        },
      });
      service.emit(event({ eventName: 'Overridden', level: 'debug' }));
      service.emit(event({ eventName: 'OwnLevel', level: 'debug' }));
      service.emit(event({ eventName: 'Plain' }));
      expect(out.records().map(r => [r.eventName, r.level])).toEqual([
        ['Overridden', 'warn'],
        ['OwnLevel', 'debug'],
        ['Plain', 'verbose'],
      ]);
    });

    it('defaults the level to info', async () => {
      const { service, out } = await setup();
      service.emit(event());
      expect(out.records()[0].level).toBe('info');
    });
  });

  describe('filtering', () => {
    it('writes only included events and counts the rest as filtered', async () => {
      const { service, out } = await setup({
        auditLog: { events: { include: ['A', 'B'] } },
      });
      service.emit(event({ eventName: 'C', auditId: 'c-id' }));
      service.emit(event({ eventName: 'A' }));
      expect(out.records().map(r => r.eventName)).toEqual(['A']);
      expect(service.isEventEnabled('B')).toBe(true);
      expect(service.isEventEnabled('C')).toBe(false);
      expect(service.stats()).toMatchObject({ emitted: 1, filtered: 1 });
    });

    it('drops excluded events', async () => {
      const { service, out } = await setup({
        auditLog: { events: { exclude: ['Noisy'] } },
      });
      service.emit(event({ eventName: 'Noisy' }));
      service.emit(event({ eventName: 'Noisy' }));
      service.emit(event({ eventName: 'Other' }));
      expect(out.records().map(r => r.eventName)).toEqual(['Other']);
      expect(service.stats()).toMatchObject({ emitted: 1, filtered: 2 });
    });

    it('exclude wins over include', async () => {
      const { service } = await setup({
        auditLog: { events: { include: ['A'], exclude: ['A'] } },
      });
      expect(service.isEventEnabled('A')).toBe(false);
    });

    it('writes nothing at all when disabled', async () => {
      const { service, out } = await setup({ auditLog: { enabled: false } });
      service.emit(event());
      expect(out.text()).toBe('');
      expect(service.isEventEnabled('CatalogEntityFetch')).toBe(false);
      // Disabled: no sink is even built.
      expect(service.stats()).toEqual({
        emitted: 0,
        filtered: 1,
        failed: 0,
        sinks: {},
      });
    });
  });

  describe('redaction', () => {
    const CANARY = 'CANARY-7f3a9c';
    const MESSAGE_SECRET = 'KEY-123';

    it('redacts url, query, params, body, meta and errors', async () => {
      const { service, out } = await setup({
        auditLog: { errors: { includeStack: true } },
      });
      service.emit(
        event({
          status: 'failed',
          secretValues: [MESSAGE_SECRET],
          meta: {
            note: `deploy with ${MESSAGE_SECRET} now`,
            authorization: `Bearer ${CANARY}-meta`,
            templateRef: 'template:default/x',
          },
          request: {
            method: 'POST',
            url: `/api/scaffolder/v2/tasks?token=${CANARY}-url&dry=1`,
            query: { access_token: `${CANARY}-query`, page: '2' },
            params: { taskId: `t-${MESSAGE_SECRET}` },
            body: {
              templateRef: 'template:default/x',
              values: { name: 'svc', description: `uses ${MESSAGE_SECRET}` },
              secrets: { GITHUB_TOKEN: CANARY, nested: { deep: [CANARY] } },
              password: `${CANARY}-password`,
            },
          },
          response: { status: 500, body: { clientSecret: `${CANARY}-resp` } },
          errors: [new Error(`failed using ${MESSAGE_SECRET}`)],
        }),
      );

      const text = out.text();
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(MESSAGE_SECRET);

      const [record] = out.records();
      expect(record.meta).toEqual({
        note: `deploy with ${REDACTED} now`,
        authorization: REDACTED,
        templateRef: 'template:default/x',
      });
      expect(record.request).toEqual({
        method: 'POST',
        url: `/api/scaffolder/v2/tasks?token=${REDACTED}&dry=1`,
        query: { access_token: REDACTED, page: '2' },
        params: { taskId: `t-${REDACTED}` },
        body: {
          templateRef: 'template:default/x',
          values: { name: 'svc', description: `uses ${REDACTED}` },
          secrets: { GITHUB_TOKEN: REDACTED, nested: { deep: [REDACTED] } },
          password: REDACTED,
        },
      });
      expect(record.response).toEqual({
        status: 500,
        body: { clientSecret: REDACTED },
      });
      expect(record.errors?.[0].message).toBe(`failed using ${REDACTED}`);
      expect(record.errors?.[0].stack).toContain(`failed using ${REDACTED}`);
    });

    it('truncates bodies larger than maxBodyBytes', async () => {
      const { service, out } = await setup({
        auditLog: { body: { maxBytes: 50 } },
      });
      service.emit(
        event({
          request: {
            method: 'POST',
            url: '/x',
            body: { password: CANARY, data: 'd'.repeat(500) },
          },
          response: { status: 200, body: { small: true } },
        }),
      );
      const [record] = out.records();
      const body = record.request?.body as {
        truncated: boolean;
        originalBytes: number;
        preview: string;
      };
      expect(body.truncated).toBe(true);
      expect(body.originalBytes).toBeGreaterThan(500);
      expect(body.preview.length).toBeLessThanOrEqual(50);
      expect(record.response?.body).toEqual({ small: true });
      expect(out.text()).not.toContain(CANARY);
    });

    it('omits empty meta, and always writes query and params as objects', async () => {
      const { service, out } = await setup();
      service.emit(
        event({
          meta: {},
          request: { method: 'GET', url: '/entities', params: {}, query: {} },
        }),
      );
      service.emit(event({ request: { method: 'GET', url: '/entities?x=1' } }));
      const [record, withoutQueryAndParams] = out.records();
      expect(record.meta).toBeUndefined();
      expect(record.request).toEqual({
        method: 'GET',
        url: '/entities',
        query: {},
        params: {},
      });
      expect(withoutQueryAndParams.request).toEqual({
        method: 'GET',
        url: '/entities?x=1',
        query: {},
        params: {},
      });
    });
  });

  describe('errors', () => {
    it('records name and message but no stack by default', async () => {
      const { service, out } = await setup();
      const error = new TypeError('bad thing');
      service.emit(
        event({
          status: 'failed',
          errors: [error, { name: 'NotFoundError', message: 'gone' }, 'plain'],
        }),
      );
      expect(out.records()[0].errors).toEqual([
        { name: 'TypeError', message: 'bad thing' },
        { name: 'NotFoundError', message: 'gone' },
        { name: 'Error', message: 'plain' },
      ]);
    });

    it('records the stack with includeErrorStack', async () => {
      const { service, out } = await setup({
        auditLog: { errors: { includeStack: true } },
      });
      const error = new Error('with stack');
      service.emit(event({ status: 'failed', errors: [error] }));
      const [recorded] = out.records()[0].errors ?? [];
      expect(recorded.name).toBe('Error');
      expect(recorded.message).toBe('with stack');
      expect(recorded.stack).toBe(error.stack);
    });

    it('omits errors when there are none', async () => {
      const { service, out } = await setup();
      service.emit(event({ errors: [] }));
      expect(out.records()[0]).not.toHaveProperty('errors');
    });
  });

  it('cannot be made to forge a second line', async () => {
    const forged = '"}\n{"level":"error","isAuditLog":true}';
    const { service, out } = await setup();
    service.emit(
      event({
        meta: { [forged]: 'v', value: forged },
        request: {
          method: 'GET',
          url: `/x?q=${forged}`,
          body: { [forged]: 1 },
        },
        errors: [new Error(forged)],
      }),
    );
    const lines = out.text().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const record = JSON.parse(lines[0]) as AuditRecord;
    expect(record.level).toBe('info');
    expect(record.meta).toEqual({ [forged]: 'v', value: forged });
    expect(record.request?.body).toEqual({ [forged]: 1 });
    expect(record.errors?.[0].message).toBe(forged);
  });

  describe('failures', () => {
    it('keeps writing to other sinks when one throws, and does not throw', async () => {
      const logger = recordingLogger();
      const broken = throwingSinkType();
      const other = collectingStream();
      // The broken sink sits between two working ones.
      const { service, out } = await setup({
        logger,
        sinkTypes: [broken, streamSinkType('other', other.stream)],
        auditLog: {
          sinks: { broken: { type: 'broken' }, second: { type: 'other' } },
        },
      });

      expect(() => service.emit(event({ auditId: 'survives' }))).not.toThrow();
      expect(broken.calls).toBe(1);
      expect(out.records().map(r => r.auditId)).toEqual(['survives']);
      expect(other.records().map(r => r.auditId)).toEqual(['survives']);
      expect(logger.messages).toHaveLength(1);
      expect(logger.messages[0]).toContain('broken');
      expect(logger.messages[0]).toContain('sink exploded');
      expect(service.stats()).toMatchObject({
        emitted: 1,
        sinks: {
          broken: { delivered: 0, dropped: { 'write-failed': 1 } },
          second: { delivered: 1, dropped: {} },
        },
      });
    });

    it('does not throw when the failure logger itself throws', async () => {
      const logger = recordingLogger();
      logger.error.mockImplementation(() => {
        throw new Error('logger down');
      });
      const other = collectingStream();
      const { service } = await setup({
        logger,
        sinkTypes: [throwingSinkType(), streamSinkType('other', other.stream)],
        auditLog: {
          sinks: { broken: { type: 'broken' }, second: { type: 'other' } },
        },
      });
      expect(() => service.emit(event({ auditId: 'a' }))).not.toThrow();
      expect(() => service.reportFailure('x', new Error('y'))).not.toThrow();
      expect(other.records().map(r => r.auditId)).toEqual(['a']);
    });

    it('counts a record that cannot be built as failed and writes nothing', async () => {
      const logger = recordingLogger();
      const { service, out } = await setup({ logger });
      service.emit(
        event({ auditId: 'bad', actor: undefined as unknown as AuditActor }),
      );
      expect(out.text()).toBe('');
      expect(service.stats()).toMatchObject({ emitted: 0, failed: 1 });
      expect(logger.messages).toHaveLength(1);
      expect(logger.messages[0]).toContain('build');
    });

    it('counts a format that throws against each of its sinks, and goes on', async () => {
      const logger = recordingLogger();
      const other = collectingStream();
      const { service, out } = await setup({
        logger,
        formats: [
          rhdhFormat,
          {
            id: 'fragile',
            render(record) {
              if (record.eventName === 'Boom') throw new Error('cannot render');
              return `fragile ${record.auditId}`;
            },
          },
        ],
        sinkTypes: [streamSinkType('other', other.stream)],
        auditLog: { sinks: { odd: { type: 'other', format: 'fragile' } } },
      });
      service.emit(event({ eventName: 'Boom', auditId: 'b1' }));
      service.emit(event({ eventName: 'Fine', auditId: 'f1' }));
      expect(out.records().map(r => r.auditId)).toEqual(['b1', 'f1']);
      expect(other.text()).toBe('fragile f1\n');
      expect(service.stats().sinks.odd).toMatchObject({
        delivered: 1,
        dropped: { format: 1 },
      });
      expect(logger.messages[0]).toContain('format fragile');
    });

    it('reports failures at most once per interval, with their count', async () => {
      const logger = recordingLogger();
      const { service } = await setup({
        logger,
        failureReportIntervalMs: 1000,
      });
      let now = 1_000_000;
      jest.spyOn(Date, 'now').mockImplementation(() => now);

      service.reportFailure('http capture', new Error('first'));
      expect(logger.messages).toHaveLength(1);
      expect(logger.messages[0]).toContain('1 failure(s) in http capture');
      expect(logger.messages[0]).toContain('first');

      now += 500;
      service.reportFailure('http capture', new Error('second'));
      now += 499;
      service.reportFailure('http capture', new Error('third'));
      expect(logger.messages).toHaveLength(1);

      now += 1;
      service.reportFailure('http capture', new Error('fourth'));
      expect(logger.messages).toHaveLength(2);
      expect(logger.messages[1]).toContain('3 failure(s)');
      expect(logger.messages[1]).toContain('fourth');
      expect(logger.messages[1]).toContain('"failed":4');

      expect(service.stats().failed).toBe(4);
    });
  });

  it('reports stats for the pipeline and every sink', async () => {
    const { service } = await setup({
      auditLog: { events: { exclude: ['Skipped'] } },
      sinkLevel: 'info',
    });
    service.emit(event());
    service.emit(event({ level: 'debug' }));
    service.emit(event({ eventName: 'Skipped' }));
    service.reportFailure('custom', new Error('x'));
    await service.flush();
    expect(service.stats()).toEqual({
      emitted: 2,
      filtered: 1,
      failed: 1,
      sinks: { stdout: { delivered: 1, retried: 0, dropped: {}, queued: 0 } },
    });
  });
});

describe('serializeAuditRecord', () => {
  const record: AuditRecord = {
    level: 'info',
    message: 'm',
    isAuditLog: true,
    schemaVersion: AUDIT_SCHEMA_VERSION,
    timestamp: '2024-01-01T00:00:00.000Z',
    auditId: 'id-1',
    plugin: 'catalog',
    eventName: 'E',
    stage: 'completion',
    status: 'succeeded',
    actor: { actorId: 'user:default/a' },
  };

  it('serializes to one JSON line', async () => {
    const line = serializeAuditRecord({ ...record, meta: { a: 'x\ny' } });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ ...record, meta: { a: 'x\ny' } });
  });

  it('replaces a record that cannot be serialized by a minimal one', async () => {
    const line = serializeAuditRecord({
      ...record,
      meta: { big: BigInt(1) },
    });
    const parsed = JSON.parse(line) as AuditRecord;
    expect(parsed).toMatchObject({
      isAuditLog: true,
      auditId: 'id-1',
      eventName: 'E',
      actor: { actorId: 'user:default/a' },
    });
    expect(parsed.meta).toBeUndefined();
    expect(parsed.errors?.[0].name).toBe('AuditSerializationError');
    expect(parsed.errors?.[0].message).toContain('BigInt');
  });
});

describe('the stdout sink', () => {
  it('writes each record as one line, on the stream only, and skips records below its level', async () => {
    const stdout = jest.spyOn(process.stdout, 'write');
    const { service, out } = await setup({ sinkLevel: 'info' });
    service.emit(event({ auditId: 'a', level: 'debug' }));
    service.emit(event({ auditId: 'b', level: 'warn' }));
    service.emit(event({ auditId: 'c' }));
    expect(out.records().map(r => r.auditId)).toEqual(['b', 'c']);
    expect(out.text().split('\n')).toHaveLength(3);
    expect(stdout).not.toHaveBeenCalled();
  });

  it('counts stream errors and every record written after the stream failed', async () => {
    const failing = collectingStream(() => new Error('EPIPE'));
    const logger = recordingLogger();
    const { service } = await setup({
      logger,
      sinkTypes: [streamSinkType('failing', failing.stream)],
      auditLog: { sinks: { failing: { type: 'failing' } } },
    });
    service.emit(event({ auditId: 'lost-1' }));
    await new Promise(resolve => setImmediate(resolve));
    // The stream reported the write's failure after the write returned.
    service.emit(event({ auditId: 'lost-2' }));
    service.emit(event({ auditId: 'lost-3' }));
    expect(failing.text()).toBe('');
    expect(service.stats().sinks.failing).toMatchObject({
      delivered: 1,
      dropped: { 'write-failed': 2 },
    });
    expect(logger.messages.join('\n')).toContain('EPIPE');
  });
});
