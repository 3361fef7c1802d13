import { Config, ConfigReader } from '@backstage/config';
import {
  AuditDeliveryMode,
  AuditLevel,
} from '@backstage-audit/plugin-audit-log-node';

/** The audit log's own plugin id; its API is always audited. @public */
export const AUDIT_LOG_PLUGIN_ID = 'audit-log';

/** Parsed and validated `auditLog` configuration. @public */
export interface AuditLogConfig {
  enabled: boolean;
  plugins: string[];
  trustProxy: boolean | number | string[];
  ignore: { methods: string[]; paths: string[] };
  events: { include: string[]; exclude: string[]; responseBody: string[] };
  levels: { default: AuditLevel; events: Record<string, AuditLevel> };
  body: { maxBytes: number };
  errors: { includeStack: boolean };
  redaction: { keys: string[]; keyPattern?: string; queryParams: string[] };
  stdout: { enabled: boolean; level: AuditLevel; delivery?: string };
  /** Every output: `auditLog.sinks.<name>`, plus `stdout` and `store` from their own sections. */
  sinks: AuditSinkConfig[];
  /** How long shutdown waits for the sinks to drain, in ms. */
  shutdownTimeoutMs: number;
  store: {
    enabled: boolean;
    /** Days records are kept; undefined keeps them forever. */
    retentionDays?: number;
    /** How often retention runs, in minutes. */
    retentionFrequencyMinutes: number;
    maxQueue: number;
    batchSize: number;
    flushIntervalMs: number;
  };
}

/** Bounds of a queued sink's queue. @public */
export interface AuditQueueConfig {
  /** Records held (waiting or in delivery); beyond it records are dropped and counted. */
  maxRecords: number;
  /** Records per delivery. */
  batchSize: number;
  /** How long a partial batch waits for company, in ms. */
  flushIntervalMs: number;
  /** Longest wait between two retries of a failing delivery, in ms. */
  maxRetryDelayMs: number;
}

/** One configured output. @public */
export interface AuditSinkConfig {
  /** The key under `auditLog.sinks` (`stdout` and `store` for the built-in sections). */
  name: string;
  type: string;
  /** Undefined: the sink type's default format. */
  format?: string;
  /** Undefined: the sink type's default mode. */
  delivery?: AuditDeliveryMode;
  /** Records below this level are not delivered. */
  level: AuditLevel;
  queue: AuditQueueConfig;
  /** How long `blocking` and `strict` wait for a delivery, in ms. */
  waitTimeoutMs: number;
  /** The sink's own block; the type reads its own keys from it. */
  config: Config;
  /** Full key of the block, for error messages. */
  configKey: string;
}

const DELIVERY_MODES: readonly AuditDeliveryMode[] = [
  'sync',
  'batched',
  'best-effort',
  'blocking',
  'strict',
];

const LEVELS: readonly AuditLevel[] = [
  'error',
  'warn',
  'info',
  'http',
  'verbose',
  'debug',
  'silly',
];

function level(config: Config, key: string, fallback: AuditLevel): AuditLevel {
  const value = config.getOptionalString(key);
  if (value === undefined) {
    return fallback;
  }
  if (!LEVELS.includes(value as AuditLevel)) {
    throw new Error(
      `Invalid config at auditLog.${key}: '${value}' is not one of ${LEVELS.join(', ')}`,
    );
  }
  return value as AuditLevel;
}

function readTrustProxy(root: Config): boolean | number | string[] {
  const key = root.has('auditLog.trustProxy')
    ? 'auditLog.trustProxy'
    : 'backend.trustProxy';
  const value = root.getOptional(key);
  if (value === undefined || value === null) {
    return false;
  }
  if (typeof value === 'boolean' || typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string') {
    return value
      .split(',')
      .map(s => s.trim())
      .filter(Boolean);
  }
  if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
    return value as string[];
  }
  throw new Error(
    `Invalid config at ${key}: expected a boolean, a hop count or a list of addresses`,
  );
}

function positiveAt(
  cfg: Config,
  key: string,
  fullKey: string,
  fallback: number,
): number {
  const value = cfg.getOptionalNumber(key) ?? fallback;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new Error(
      `Invalid config at ${fullKey}.${key}: expected a positive number, got ${value}`,
    );
  }
  return value;
}

function readSink(
  name: string,
  block: Config,
  configKey: string,
  defaults: { queue: AuditQueueConfig; level: AuditLevel },
): AuditSinkConfig {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new Error(
      `Invalid config at ${configKey}: sink names are 1-64 letters, digits, '.', '_' or '-'`,
    );
  }
  const type = block.getOptionalString('type');
  if (!type) {
    throw new Error(`Invalid config at ${configKey}.type: a sink needs a type`);
  }
  const delivery = block.getOptionalString('delivery');
  if (
    delivery !== undefined &&
    !DELIVERY_MODES.includes(delivery as AuditDeliveryMode)
  ) {
    throw new Error(
      `Invalid config at ${configKey}.delivery: '${delivery}' is not one of ${DELIVERY_MODES.join(', ')}`,
    );
  }
  const levelValue = block.getOptionalString('level');
  if (levelValue !== undefined && !LEVELS.includes(levelValue as AuditLevel)) {
    throw new Error(
      `Invalid config at ${configKey}.level: '${levelValue}' is not one of ${LEVELS.join(', ')}`,
    );
  }
  const q = block.getOptionalConfig('queue') ?? new ConfigReader({});
  const queueKey = `${configKey}.queue`;
  return {
    name,
    type,
    format: block.getOptionalString('format'),
    delivery: delivery as AuditDeliveryMode | undefined,
    level: (levelValue as AuditLevel | undefined) ?? defaults.level,
    queue: {
      maxRecords: positiveAt(
        q,
        'maxRecords',
        queueKey,
        defaults.queue.maxRecords,
      ),
      batchSize: positiveAt(q, 'batchSize', queueKey, defaults.queue.batchSize),
      flushIntervalMs: positiveAt(
        q,
        'flushIntervalMs',
        queueKey,
        defaults.queue.flushIntervalMs,
      ),
      maxRetryDelayMs: positiveAt(
        q,
        'maxRetryDelayMs',
        queueKey,
        defaults.queue.maxRetryDelayMs,
      ),
    },
    waitTimeoutMs: positiveAt(block, 'waitTimeoutMs', configKey, 5000),
    config: block,
    configKey,
  };
}

const DEFAULT_QUEUE: AuditQueueConfig = {
  maxRecords: 10000,
  batchSize: 500,
  flushIntervalMs: 50,
  maxRetryDelayMs: 10000,
};

/**
 * The outputs: `auditLog.stdout` and `auditLog.store` as the sinks `stdout`
 * and `store` (unless disabled), then every `auditLog.sinks.<name>`; a block
 * named `stdout` or `store` there replaces the built-in one.
 */
function readSinks(
  c: Config | undefined,
  stdout: AuditLogConfig['stdout'],
  store: AuditLogConfig['store'],
): AuditSinkConfig[] {
  const sinks = new Map<string, AuditSinkConfig>();
  if (stdout.enabled) {
    sinks.set(
      'stdout',
      readSink(
        'stdout',
        new ConfigReader({
          type: 'stdout',
          ...(stdout.delivery ? { delivery: stdout.delivery } : {}),
        }),
        'auditLog.stdout',
        { queue: DEFAULT_QUEUE, level: stdout.level },
      ),
    );
  }
  if (store.enabled) {
    sinks.set(
      'store',
      readSink('store', new ConfigReader({ type: 'store' }), 'auditLog.store', {
        queue: {
          ...DEFAULT_QUEUE,
          maxRecords: store.maxQueue,
          batchSize: store.batchSize,
          flushIntervalMs: store.flushIntervalMs,
        },
        // The store keeps every record, whatever stdout prints.
        level: 'silly',
      }),
    );
  }
  const declared = c?.getOptionalConfig('sinks');
  for (const name of declared?.keys() ?? []) {
    const block = declared!.getConfig(name);
    const key = `auditLog.sinks.${name}`;
    if (block.getOptionalBoolean('enabled') === false) {
      sinks.delete(name);
      continue;
    }
    sinks.set(
      name,
      readSink(name, block, key, {
        queue: DEFAULT_QUEUE,
        level: name === 'store' ? 'silly' : 'info',
      }),
    );
  }
  return [...sinks.values()];
}

/**
 * Reads `auditLog` once at start-up. A bad value fails start-up with an error
 * naming the full key.
 *
 * @public
 */
export function readAuditLogConfig(root: Config): AuditLogConfig {
  const c = root.getOptionalConfig('auditLog');
  const get = <T>(fn: (cfg: Config) => T | undefined, fallback: T): T =>
    (c ? fn(c) : undefined) ?? fallback;

  const keyPattern = c?.getOptionalString('redaction.keyPattern');
  if (keyPattern !== undefined) {
    try {
      // eslint-disable-next-line no-new -- compiled only to validate the pattern here; the redactor compiles its own
      new RegExp(keyPattern, 'i');
    } catch (e) {
      throw new Error(
        `Invalid config at auditLog.redaction.keyPattern: ${(e as Error).message}`,
      );
    }
  }
  const maxBytes = get(x => x.getOptionalNumber('body.maxBytes'), 65536);
  if (!Number.isInteger(maxBytes) || maxBytes < 0) {
    throw new Error(
      `Invalid config at auditLog.body.maxBytes: expected a non-negative integer, got ${maxBytes}`,
    );
  }
  const positive = (key: string, fallback: number): number => {
    const value = c?.getOptionalNumber(key) ?? fallback;
    if (!(value > 0)) {
      throw new Error(
        `Invalid config at auditLog.${key}: expected a positive number, got ${value}`,
      );
    }
    return value;
  };
  const retentionDays = c?.getOptionalNumber('store.retention.days');
  if (retentionDays !== undefined && !(retentionDays > 0)) {
    throw new Error(
      `Invalid config at auditLog.store.retention.days: expected a positive number, got ${retentionDays}`,
    );
  }
  const eventLevels: Record<string, AuditLevel> = {};
  const levelsCfg = c?.getOptionalConfig('levels.events');
  for (const name of levelsCfg?.keys() ?? []) {
    eventLevels[name] = level(c!, `levels.events.${name}`, 'info');
  }
  const stdout = {
    enabled: get(x => x.getOptionalBoolean('stdout.enabled'), true),
    level: c ? level(c, 'stdout.level', 'info') : ('info' as AuditLevel),
    delivery: c?.getOptionalString('stdout.delivery'),
  };
  const store = {
    enabled: get(x => x.getOptionalBoolean('store.enabled'), true),
    retentionDays,
    retentionFrequencyMinutes: positive('store.retention.frequencyMinutes', 60),
    maxQueue: positive('store.maxQueue', 50000),
    batchSize: positive('store.batchSize', 500),
    flushIntervalMs: positive('store.flushIntervalMs', 50),
  };
  return {
    enabled: get(x => x.getOptionalBoolean('enabled'), true),
    plugins: get(
      x => x.getOptionalStringArray('plugins'),
      ['catalog', 'scaffolder'],
    ),
    trustProxy: readTrustProxy(root),
    ignore: {
      methods: get(x => x.getOptionalStringArray('ignore.methods'), []).map(m =>
        m.toUpperCase(),
      ),
      paths: get(
        x => x.getOptionalStringArray('ignore.paths'),
        ['/api/*/.backstage/'],
      ),
    },
    events: {
      include: get(x => x.getOptionalStringArray('events.include'), []),
      exclude: get(x => x.getOptionalStringArray('events.exclude'), []),
      responseBody: get(
        x => x.getOptionalStringArray('events.responseBody'),
        [],
      ),
    },
    levels: {
      default: c ? level(c, 'levels.default', 'info') : 'info',
      events: eventLevels,
    },
    body: { maxBytes },
    errors: {
      includeStack: get(
        x => x.getOptionalBoolean('errors.includeStack'),
        false,
      ),
    },
    redaction: {
      keys: get(x => x.getOptionalStringArray('redaction.keys'), []),
      keyPattern,
      queryParams: get(
        x => x.getOptionalStringArray('redaction.queryParams'),
        ['token', 'access_token', 'api_key'],
      ),
    },
    stdout,
    store,
    sinks: readSinks(c, stdout, store),
    shutdownTimeoutMs: positive('shutdownTimeoutMs', 10000),
  };
}
