import { Writable } from 'node:stream';
import * as winston from 'winston';
import { MESSAGE } from 'triple-beam';
import { AuditEventInput } from './AuditLogService';
import {
  AuditFailureLogger,
  DefaultAuditLogService,
  DefaultAuditLogServiceOptions,
} from './DefaultAuditLogService';
import {
  AUDIT_SCHEMA_VERSION,
  AuditActor,
  AuditLevel,
  AuditRecord,
  REDACTED,
} from './record';
import { Redactor } from './redaction/Redactor';
import { defineAuditRoutes } from './routes/types';
import { serializeAuditRecord } from './serialize';
import { AuditSink, AuditSinkStats } from './sinks/types';
import { WinstonStreamSink } from './sinks/WinstonStreamSink';
import { assertValidRecords } from '../../../test/support/recordSchema';

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

function setup(
  options: Partial<DefaultAuditLogServiceOptions> = {},
  sinkLevel: AuditLevel = 'silly',
) {
  const out = collectingStream();
  const sink = WinstonStreamSink.create({
    stream: out.stream,
    level: sinkLevel,
  });
  const service = DefaultAuditLogService.create({
    redactor: Redactor.create(),
    sinks: [sink],
    ...options,
  });
  return { service, out, sink };
}

class ThrowingSink implements AuditSink {
  readonly name = 'broken';
  calls = 0;
  write(): void {
    this.calls++;
    throw new Error('sink exploded');
  }
  stats(): AuditSinkStats {
    return { written: 0, failed: 0, dropped: 0, queued: 0 };
  }
}

function recordingLogger(): AuditFailureLogger & { messages: string[] } {
  const messages: string[] = [];
  return { messages, error: (message: string) => void messages.push(message) };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('DefaultAuditLogService', () => {
  describe('emit', () => {
    it('writes exactly one JSON line per record', () => {
      const { service, out } = setup();
      const before = Date.now();
      const id = service.emit(event({ auditId: 'audit-1' }));
      service.emit(event({ auditId: 'audit-2', stage: 'initiation' }));
      const after = Date.now();

      expect(id).toBe('audit-1');
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

    it('writes the line the record serializes to', () => {
      const { service, out } = setup();
      service.emit(event({ auditId: 'x' }));
      const [record] = out.records();
      expect(out.text()).toBe(`${serializeAuditRecord(record)}\n`);
    });

    it('generates a UUID when no auditId is given', () => {
      const { service, out } = setup();
      const a = service.emit(event());
      const b = service.emit(event());
      expect(a).toMatch(UUID_RE);
      expect(b).toMatch(UUID_RE);
      expect(a).not.toBe(b);
      expect(out.records().map(r => r.auditId)).toEqual([a, b]);
    });

    it('records a null actor id for unauthenticated requests', () => {
      const { service, out } = setup();
      service.emit(event({ actor: { actorId: null } }));
      expect(out.records()[0].actor.actorId).toBeNull();
    });

    it('picks the level: eventLevels override > event.level > defaultLevel', () => {
      const { service, out } = setup({
        defaultLevel: 'verbose',
        eventLevels: { Overridden: 'warn' },
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

    it('defaults the level to info', () => {
      const { service, out } = setup();
      service.emit(event());
      expect(out.records()[0].level).toBe('info');
    });
  });

  describe('filtering', () => {
    it('writes only included events and counts the rest as filtered', () => {
      const { service, out } = setup({ includeEvents: ['A', 'B'] });
      const id = service.emit(event({ eventName: 'C', auditId: 'c-id' }));
      service.emit(event({ eventName: 'A' }));
      expect(id).toBe('c-id');
      expect(out.records().map(r => r.eventName)).toEqual(['A']);
      expect(service.isEventEnabled('B')).toBe(true);
      expect(service.isEventEnabled('C')).toBe(false);
      expect(service.stats()).toMatchObject({ emitted: 1, filtered: 1 });
    });

    it('drops excluded events', () => {
      const { service, out } = setup({ excludeEvents: ['Noisy'] });
      service.emit(event({ eventName: 'Noisy' }));
      service.emit(event({ eventName: 'Noisy' }));
      service.emit(event({ eventName: 'Other' }));
      expect(out.records().map(r => r.eventName)).toEqual(['Other']);
      expect(service.stats()).toMatchObject({ emitted: 1, filtered: 2 });
    });

    it('exclude wins over include', () => {
      const { service } = setup({ includeEvents: ['A'], excludeEvents: ['A'] });
      expect(service.isEventEnabled('A')).toBe(false);
    });

    it('writes nothing at all when disabled', () => {
      const { service, out } = setup({ enabled: false });
      const id = service.emit(event());
      expect(id).toMatch(UUID_RE);
      expect(out.text()).toBe('');
      expect(service.isEventEnabled('CatalogEntityFetch')).toBe(false);
      expect(service.stats()).toEqual({
        emitted: 0,
        filtered: 1,
        failed: 0,
        sinks: {
          stdout: { written: 0, failed: 0, dropped: 0, queued: 0 },
        },
      });
    });
  });

  describe('redaction', () => {
    const CANARY = 'CANARY-7f3a9c';
    const MESSAGE_SECRET = 'KEY-123';

    it('redacts url, query, params, body, meta and errors', () => {
      const { service, out } = setup({ includeErrorStack: true });
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

    it('truncates bodies larger than maxBodyBytes', () => {
      const { service, out } = setup({ maxBodyBytes: 50 });
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

    it('omits empty meta, and always writes query and params as objects', () => {
      const { service, out } = setup();
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
    it('records name and message but no stack by default', () => {
      const { service, out } = setup();
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

    it('records the stack with includeErrorStack', () => {
      const { service, out } = setup({ includeErrorStack: true });
      const error = new Error('with stack');
      service.emit(event({ status: 'failed', errors: [error] }));
      const [recorded] = out.records()[0].errors ?? [];
      expect(recorded.name).toBe('Error');
      expect(recorded.message).toBe('with stack');
      expect(recorded.stack).toBe(error.stack);
    });

    it('omits errors when there are none', () => {
      const { service, out } = setup();
      service.emit(event({ errors: [] }));
      expect(out.records()[0]).not.toHaveProperty('errors');
    });
  });

  it('cannot be made to forge a second line', () => {
    const forged = '"}\n{"level":"error","isAuditLog":true}';
    const { service, out } = setup();
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
    it('keeps writing to other sinks when one throws, and does not throw', () => {
      const logger = recordingLogger();
      const broken = new ThrowingSink();
      const { service, out } = setup({ logger });
      // The broken sink sits between two working ones.
      const other = collectingStream();
      service.addSink(broken);
      service.addSink(WinstonStreamSink.create({ stream: other.stream }));

      let id = '';
      expect(() => {
        id = service.emit(event({ auditId: 'survives' }));
      }).not.toThrow();
      expect(id).toBe('survives');
      expect(broken.calls).toBe(1);
      expect(out.records().map(r => r.auditId)).toEqual(['survives']);
      expect(other.records().map(r => r.auditId)).toEqual(['survives']);
      expect(logger.messages).toHaveLength(1);
      expect(logger.messages[0]).toContain('broken');
      expect(logger.messages[0]).toContain('sink exploded');
      expect(service.stats().emitted).toBe(1);
    });

    it('does not throw when the failure logger itself throws', () => {
      const other = collectingStream();
      const service = DefaultAuditLogService.create({
        redactor: Redactor.create(),
        logger: {
          error() {
            throw new Error('logger down');
          },
        },
        sinks: [
          new ThrowingSink(),
          WinstonStreamSink.create({ stream: other.stream }),
        ],
      });
      expect(() => service.emit(event({ auditId: 'a' }))).not.toThrow();
      expect(() => service.reportFailure('x', new Error('y'))).not.toThrow();
      expect(other.records().map(r => r.auditId)).toEqual(['a']);
    });

    it('counts a record that cannot be built as failed and writes nothing', () => {
      const logger = recordingLogger();
      const { service, out } = setup({ logger });
      const id = service.emit(
        event({ auditId: 'bad', actor: undefined as unknown as AuditActor }),
      );
      expect(id).toBe('bad');
      expect(out.text()).toBe('');
      expect(service.stats()).toMatchObject({ emitted: 0, failed: 1 });
      expect(logger.messages).toHaveLength(1);
      expect(logger.messages[0]).toContain('build');
    });

    it('reports failures at most once per interval, with their count', () => {
      const logger = recordingLogger();
      const { service } = setup({ logger, failureReportIntervalMs: 1000 });
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

    it('does not count failures of registered sinks as pipeline failures', () => {
      const { service } = setup({ logger: recordingLogger() });
      service.reportFailure('stdout', new Error('EPIPE'));
      service.reportFailure('build', new Error('counted by emit'));
      expect(service.stats().failed).toBe(0);
      service.reportFailure('somewhere else', new Error('x'));
      expect(service.stats().failed).toBe(1);
    });

    it('counts without a logger', () => {
      const { service } = setup();
      service.reportFailure('x', 'not an error');
      expect(service.stats().failed).toBe(1);
    });
  });

  it('reports stats for the pipeline and every sink', async () => {
    const { service } = setup({ excludeEvents: ['Skipped'] }, 'info');
    service.emit(event());
    service.emit(event({ level: 'debug' }));
    service.emit(event({ eventName: 'Skipped' }));
    service.reportFailure('custom', new Error('x'));
    await service.flush();
    expect(service.stats()).toEqual({
      emitted: 2,
      filtered: 1,
      failed: 1,
      sinks: { stdout: { written: 1, failed: 0, dropped: 0, queued: 0 } },
    });
  });

  it('registers one route table per plugin', () => {
    const { service } = setup();
    const table = defineAuditRoutes('catalog', [
      { method: 'GET', path: '/entities', eventName: 'CatalogEntityList' },
    ]);
    service.registerRouteTable(table);
    expect(
      service.getRouteMatcher('catalog')?.match('GET', '/entities')?.route
        .eventName,
    ).toBe('CatalogEntityList');
    expect(service.getRouteMatcher('scaffolder')).toBeUndefined();
    expect(() => service.registerRouteTable(table)).toThrow(
      /already registered/,
    );
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

  it('serializes to one JSON line', () => {
    const line = serializeAuditRecord({ ...record, meta: { a: 'x\ny' } });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ ...record, meta: { a: 'x\ny' } });
  });

  it('replaces a record that cannot be serialized by a minimal one', () => {
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

describe('WinstonStreamSink', () => {
  function record(level: AuditLevel, auditId: string): AuditRecord {
    return {
      level,
      message: 'm',
      isAuditLog: true,
      schemaVersion: AUDIT_SCHEMA_VERSION,
      timestamp: new Date().toISOString(),
      auditId,
      plugin: 'p',
      eventName: 'E',
      stage: 'completion',
      status: 'succeeded',
      actor: { actorId: null },
    };
  }

  it('writes the given line verbatim, one per record', () => {
    const out = collectingStream();
    const sink = WinstonStreamSink.create({ stream: out.stream });
    sink.write(record('info', 'a'), 'line-one');
    sink.write(record('warn', 'b'), 'line-two');
    expect(out.text()).toBe('line-one\nline-two\n');
    expect(sink.stats()).toEqual({
      written: 2,
      failed: 0,
      dropped: 0,
      queued: 0,
    });
    expect(sink.name).toBe('stdout');
  });

  it('skips records below its level', () => {
    const out = collectingStream();
    const sink = WinstonStreamSink.create({
      stream: out.stream,
      level: 'info',
    });
    sink.write(record('debug', 'a'), 'debug-line');
    sink.write(record('verbose', 'b'), 'verbose-line');
    sink.write(record('error', 'c'), 'error-line');
    sink.write(record('info', 'd'), 'info-line');
    expect(out.text()).toBe('error-line\ninfo-line\n');
    expect(sink.stats().written).toBe(2);
  });

  it('writes debug records when its level allows them', () => {
    const out = collectingStream();
    const sink = WinstonStreamSink.create({
      stream: out.stream,
      level: 'debug',
    });
    sink.write(record('debug', 'a'), 'debug-line');
    sink.write(record('silly', 'b'), 'silly-line');
    expect(out.text()).toBe('debug-line\n');
  });

  it('hands the line to any winston transport, honouring its level, silent and format', async () => {
    const plain = collectingStream();
    const formatted = collectingStream();
    const warnOnly = collectingStream();
    const sink = WinstonStreamSink.create({
      level: 'debug',
      transports: [
        new winston.transports.Stream({ stream: plain.stream }),
        new winston.transports.Stream({
          stream: formatted.stream,
          format: winston.format(info => {
            const i = info as unknown as Record<symbol, string>;
            i[MESSAGE] = `[audit] ${i[MESSAGE]}`;
            return info;
          })(),
        }),
        new winston.transports.Stream({
          stream: warnOnly.stream,
          level: 'warn',
        }),
        new winston.transports.Stream({
          stream: warnOnly.stream,
          silent: true,
        }),
      ],
    });
    sink.write(record('debug', 'a'), 'debug-line');
    sink.write(record('error', 'b'), 'error-line');
    await new Promise(resolve => setImmediate(resolve));
    expect(plain.text()).toBe('debug-line\nerror-line\n');
    expect(formatted.text()).toBe('[audit] debug-line\n[audit] error-line\n');
    expect(warnOnly.text()).toBe('error-line\n');
    expect(sink.stats().written).toBe(2);
  });

  it('writes to the given stream only', () => {
    const stdout = jest.spyOn(process.stdout, 'write');
    const first = collectingStream();
    const second = collectingStream();
    const a = WinstonStreamSink.create({ stream: first.stream });
    const b = WinstonStreamSink.create({ stream: second.stream });
    a.write(record('info', 'a'), 'to-first');
    b.write(record('info', 'b'), 'to-second');
    expect(stdout).not.toHaveBeenCalled();
    expect(first.text()).toBe('to-first\n');
    expect(second.text()).toBe('to-second\n');
  });

  it('counts stream errors and records written after the stream failed', async () => {
    const errors: Error[] = [];
    const out = collectingStream(() => new Error('EPIPE'));
    const sink = WinstonStreamSink.create({
      stream: out.stream,
      onError: e => errors.push(e),
    });
    sink.write(record('info', 'a'), 'lost-1');
    await new Promise(resolve => setImmediate(resolve));
    expect(errors.map(e => e.message)).toEqual(['EPIPE']);
    expect(sink.stats()).toMatchObject({ written: 1, failed: 1 });

    // The stream is destroyed now: Node drops further writes silently.
    sink.write(record('info', 'b'), 'lost-2');
    await new Promise(resolve => setImmediate(resolve));
    expect(sink.stats()).toMatchObject({ written: 1, failed: 2 });
    expect(out.text()).toBe('');
  });

  it('reports stream failures through the service without double counting', async () => {
    const logger = recordingLogger();
    const out = collectingStream(() => new Error('disk full'));
    const service = DefaultAuditLogService.create({
      redactor: Redactor.create(),
      logger,
    });
    service.addSink(
      WinstonStreamSink.create({
        stream: out.stream,
        onError: e => service.reportFailure('stdout', e),
      }),
    );
    service.emit(event());
    await new Promise(resolve => setImmediate(resolve));
    expect(logger.messages).toHaveLength(1);
    expect(logger.messages[0]).toContain('disk full');
    expect(service.stats()).toMatchObject({
      emitted: 1,
      failed: 0,
      sinks: { stdout: { failed: 1 } },
    });
  });
});
