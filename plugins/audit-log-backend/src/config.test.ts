import { ConfigReader } from '@backstage/config';
import { readAuditLogConfig } from './config';

function read(data: ConstructorParameters<typeof ConfigReader>[0]) {
  return readAuditLogConfig(new ConfigReader(data));
}

describe('readAuditLogConfig', () => {
  it('returns the defaults without an auditLog section', () => {
    const { sinks, ...rest } = read({});
    // Two sinks from their own sections: stdout, synchronous, and the store.
    expect(
      sinks.map(s => [s.name, s.type, s.delivery, s.level, s.queue.maxRecords]),
    ).toEqual([
      ['stdout', 'stdout', undefined, 'info', 10000],
      ['store', 'store', undefined, 'silly', 50000],
    ]);
    expect(rest).toEqual({
      enabled: true,
      plugins: ['catalog', 'scaffolder'],
      trustProxy: false,
      ignore: { methods: [], paths: ['/api/*/.backstage/'] },
      events: { include: [], exclude: [], responseBody: [] },
      levels: { default: 'info', events: {} },
      body: { maxBytes: 65536 },
      errors: { includeStack: false },
      redaction: {
        keys: [],
        keyPattern: undefined,
        queryParams: ['token', 'access_token', 'api_key'],
      },
      stdout: { enabled: true, level: 'info', delivery: undefined },
      store: {
        enabled: true,
        retentionDays: undefined,
        retentionFrequencyMinutes: 60,
        maxQueue: 50000,
        batchSize: 500,
        flushIntervalMs: 50,
      },
      shutdownTimeoutMs: 10000,
    });
  });

  it('returns the same defaults with an empty auditLog section', () => {
    expect(read({ auditLog: {} })).toEqual(read({}));
  });

  it('reads every override', () => {
    const config = read({
      auditLog: {
        enabled: false,
        plugins: ['catalog', 'todo'],
        trustProxy: 2,
        ignore: { methods: ['head', 'Options'], paths: ['/healthcheck'] },
        events: {
          include: ['A'],
          exclude: ['B'],
          responseBody: ['ScaffolderTaskCreate'],
        },
        levels: {
          default: 'warn',
          events: {
            CatalogEntityFetch: 'debug',
            ScaffolderTaskCreate: 'error',
          },
        },
        body: { maxBytes: 1024 },
        errors: { includeStack: true },
        redaction: {
          keys: ['ssn'],
          keyPattern: '^x-.*$',
          queryParams: ['sig'],
        },
        stdout: { enabled: false, level: 'verbose' },
        store: {
          enabled: false,
          retention: { days: 400, frequencyMinutes: 5 },
          maxQueue: 10,
          batchSize: 2,
          flushIntervalMs: 7,
        },
      },
    });
    const { sinks, ...rest } = config;
    expect(sinks).toEqual([]);
    expect(rest).toEqual({
      enabled: false,
      plugins: ['catalog', 'todo'],
      trustProxy: 2,
      ignore: { methods: ['HEAD', 'OPTIONS'], paths: ['/healthcheck'] },
      events: {
        include: ['A'],
        exclude: ['B'],
        responseBody: ['ScaffolderTaskCreate'],
      },
      levels: {
        default: 'warn',
        events: { CatalogEntityFetch: 'debug', ScaffolderTaskCreate: 'error' },
      },
      body: { maxBytes: 1024 },
      errors: { includeStack: true },
      redaction: { keys: ['ssn'], keyPattern: '^x-.*$', queryParams: ['sig'] },
      stdout: { enabled: false, level: 'verbose', delivery: undefined },
      store: {
        enabled: false,
        retentionDays: 400,
        retentionFrequencyMinutes: 5,
        maxQueue: 10,
        batchSize: 2,
        flushIntervalMs: 7,
      },
      shutdownTimeoutMs: 10000,
    });
  });

  describe('sinks', () => {
    it('reads named sinks, replaces a built-in one of the same name, and drops disabled ones', () => {
      const { sinks } = read({
        auditLog: {
          stdout: { delivery: 'batched' },
          sinks: {
            archive: {
              type: 'file',
              format: 'backstage-auditor',
              delivery: 'blocking',
              level: 'warn',
              path: '/var/log/audit.log',
              queue: { maxRecords: 7, batchSize: 3 },
              waitTimeoutMs: 250,
            },
            store: { type: 'store', delivery: 'strict' },
            off: { type: 'file', enabled: false },
          },
        },
      });
      expect(
        sinks.map(s => [
          s.name,
          s.type,
          s.format,
          s.delivery,
          s.level,
          s.queue.maxRecords,
          s.queue.batchSize,
          s.waitTimeoutMs,
          s.configKey,
        ]),
      ).toEqual([
        [
          'stdout',
          'stdout',
          undefined,
          'batched',
          'info',
          10000,
          500,
          5000,
          'auditLog.stdout',
        ],
        [
          'store',
          'store',
          undefined,
          'strict',
          'silly',
          10000,
          500,
          5000,
          'auditLog.sinks.store',
        ],
        [
          'archive',
          'file',
          'backstage-auditor',
          'blocking',
          'warn',
          7,
          3,
          250,
          'auditLog.sinks.archive',
        ],
      ]);
      // The type's own keys stay in its block.
      expect(sinks[2].config.getString('path')).toBe('/var/log/audit.log');
    });

    it.each([
      ['auditLog.sinks.a.type', { a: {} }],
      [
        'auditLog.sinks.a.delivery',
        { a: { type: 'file', delivery: 'eventually' } },
      ],
      ['auditLog.sinks.a.level', { a: { type: 'file', level: 'loud' } }],
      [
        'auditLog.sinks.a.queue.maxRecords',
        { a: { type: 'file', queue: { maxRecords: 0 } } },
      ],
      [
        'auditLog.sinks.a.waitTimeoutMs',
        { a: { type: 'file', waitTimeoutMs: -1 } },
      ],
    ])('rejects a bad %s naming the key', (key, sinks) => {
      expect(() => read({ auditLog: { sinks } })).toThrow(key);
    });
  });

  it.each([
    ['store.retention.days', { store: { retention: { days: 0 } } }],
    ['store.maxQueue', { store: { maxQueue: -1 } }],
    ['store.batchSize', { store: { batchSize: 0 } }],
  ])('rejects a bad auditLog.%s naming the key', (key, auditLog) => {
    expect(() => read({ auditLog })).toThrow(`auditLog.${key}`);
  });

  it('accepts an empty ignore list and a zero body cap', () => {
    const config = read({
      auditLog: { ignore: { paths: [] }, body: { maxBytes: 0 } },
    });
    expect(config.ignore.paths).toEqual([]);
    expect(config.body.maxBytes).toBe(0);
  });

  describe('levels', () => {
    it('rejects an invalid default level naming the full key', () => {
      expect(() => read({ auditLog: { levels: { default: 'loud' } } })).toThrow(
        /auditLog\.levels\.default.*'loud'/,
      );
    });

    it('rejects an invalid event level naming the full key', () => {
      expect(() =>
        read({
          auditLog: {
            levels: { events: { Good: 'info', CatalogEntityFetch: 'trace' } },
          },
        }),
      ).toThrow(/auditLog\.levels\.events\.CatalogEntityFetch.*'trace'/);
    });

    it('rejects an invalid stdout level naming the full key', () => {
      expect(() => read({ auditLog: { stdout: { level: 'INFO' } } })).toThrow(
        'auditLog.stdout.level',
      );
    });

    it('accepts every npm level', () => {
      for (const level of [
        'error',
        'warn',
        'info',
        'http',
        'verbose',
        'debug',
        'silly',
      ]) {
        expect(
          read({ auditLog: { levels: { default: level } } }).levels.default,
        ).toBe(level);
      }
    });
  });

  it('rejects an invalid keyPattern naming the key', () => {
    expect(() =>
      read({ auditLog: { redaction: { keyPattern: '(unclosed' } } }),
    ).toThrow(/^Invalid config at auditLog\.redaction\.keyPattern: /);
  });

  it.each([-1, 1.5])('rejects body.maxBytes %p naming the key', maxBytes => {
    expect(() => read({ auditLog: { body: { maxBytes } } })).toThrow(
      `Invalid config at auditLog.body.maxBytes: expected a non-negative integer, got ${maxBytes}`,
    );
  });

  describe('trustProxy', () => {
    it('falls back to backend.trustProxy', () => {
      expect(read({ backend: { trustProxy: true } }).trustProxy).toBe(true);
      expect(read({ backend: { trustProxy: 1 } }).trustProxy).toBe(1);
    });

    it('prefers auditLog.trustProxy over backend.trustProxy', () => {
      expect(
        read({
          backend: { trustProxy: true },
          auditLog: { trustProxy: false },
        }).trustProxy,
      ).toBe(false);
    });

    it('parses a comma-separated string into a list', () => {
      expect(
        read({ auditLog: { trustProxy: 'loopback, 10.0.0.0/8 ,,' } })
          .trustProxy,
      ).toEqual(['loopback', '10.0.0.0/8']);
      expect(read({ backend: { trustProxy: 'a, b' } }).trustProxy).toEqual([
        'a',
        'b',
      ]);
    });

    it('accepts a list of addresses', () => {
      expect(
        read({ auditLog: { trustProxy: ['loopback', '10.0.0.0/8'] } })
          .trustProxy,
      ).toEqual(['loopback', '10.0.0.0/8']);
    });

    it('rejects other values naming the key', () => {
      expect(() => read({ auditLog: { trustProxy: { a: 1 } } })).toThrow(
        'Invalid config at auditLog.trustProxy',
      );
      expect(() => read({ backend: { trustProxy: [1, 2] } })).toThrow(
        'Invalid config at backend.trustProxy',
      );
    });
  });
});
