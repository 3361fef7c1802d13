import { Config } from '@backstage/config';
import { AuditLevel } from '@backstage-audit/plugin-audit-log-node';

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
  stdout: { enabled: boolean; level: AuditLevel };
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
    stdout: {
      enabled: get(x => x.getOptionalBoolean('stdout.enabled'), true),
      level: c ? level(c, 'stdout.level', 'info') : 'info',
    },
    store: {
      enabled: get(x => x.getOptionalBoolean('store.enabled'), true),
      retentionDays,
      retentionFrequencyMinutes: positive(
        'store.retention.frequencyMinutes',
        60,
      ),
      maxQueue: positive('store.maxQueue', 50000),
      batchSize: positive('store.batchSize', 500),
      flushIntervalMs: positive('store.flushIntervalMs', 50),
    },
  };
}
