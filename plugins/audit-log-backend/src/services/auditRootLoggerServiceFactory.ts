import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  WinstonLogger,
  WinstonLoggerLevelOverride,
} from '@backstage/backend-defaults/rootLogger';
import { createConfigSecretEnumerator } from '@backstage/backend-defaults/rootConfig';
import { Redactor, REDACTED } from '@backstage-audit/plugin-audit-log-node';
import * as winston from 'winston';
import { auditLogCoreServiceRef } from './auditLogCoreServiceFactory';

/** Fields winston and Backstage's logger own; never rewritten. */
const KEPT_FIELDS = new Set(['level', 'message']);

const MARKER = 'isAuditLog';
const NEUTRAL = 'isAudit_Log';

/** The audit filter's marker word, made harmless wherever it stands in a string. */
function neutralize(s: string): string {
  return s.indexOf(MARKER) === -1 ? s : s.split(MARKER).join(NEUTRAL);
}

/** Renames the marker in the keys and strings of a copy (ours to change). */
function neutralizeDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return neutralize(value);
  }
  if (!value || typeof value !== 'object' || depth > 32) {
    return value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      value[i] = neutralizeDeep(value[i], depth + 1);
    }
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[neutralize(k)] = neutralizeDeep(v, depth + 1);
  }
  return out;
}

/** A copy of an error with credentials redacted from its message and stack. */
function redactError(redactor: Redactor, error: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(error)) as Error;
  for (const key of Object.getOwnPropertyNames(error)) {
    const value = (error as unknown as Record<string, unknown>)[key];
    Object.defineProperty(copy, key, {
      value: redactField(redactor, key, value),
      writable: true,
      configurable: true,
      enumerable: Object.prototype.propertyIsEnumerable.call(error, key),
    });
  }
  return copy;
}

function redactField(redactor: Redactor, key: string, value: unknown): unknown {
  if (redactor.isSensitiveKey(key)) {
    return value === undefined || value === null ? value : REDACTED;
  }
  if (typeof value === 'string') {
    return neutralize(redactor.text(value));
  }
  if (value instanceof Error) {
    return redactError(redactor, value);
  }
  if (value && typeof value === 'object') {
    return neutralizeDeep(redactor.copy(value));
  }
  return value;
}

/**
 * A winston format for the backend's ordinary logs: redacts credentials
 * wherever they sit in a log entry. Fields under credential-like keys are
 * masked at any depth; strings, the message included, lose credential-shaped
 * values, `key=value` pairs with a credential key (URLs in Backstage's access
 * log, `password=...` text) and values under credential keys in embedded
 * JSON (the scaffolder's dry-run line prints each step's inputs as JSON).
 * It also makes sure no ordinary log line can pass for an audit record:
 * the top-level `isAuditLog` field is removed and the word is renamed in
 * every key and string of the entry, since the RHDH guide's cluster-logging
 * filter matches the text of the whole line, and a client chooses the
 * access log's `url` and `userAgent`.
 *
 * @public
 */
export function createOrdinaryLogSafetyFormat(
  redactor: Redactor,
): winston.Logform.Format {
  return winston.format(info => {
    const record = info as Record<string, unknown>;
    delete record.isAuditLog;
    if (typeof record.message === 'string') {
      record.message = neutralize(redactor.text(record.message));
    }
    for (const key of Object.keys(record)) {
      if (KEPT_FIELDS.has(key)) {
        continue;
      }
      const value = redactField(redactor, key, record[key]);
      const safeKey = neutralize(key);
      if (safeKey !== key) {
        delete record[key];
      }
      record[safeKey] = value;
    }
    return info;
  })();
}

/**
 * The default root logger of `@backstage/backend-defaults` (same levels,
 * meta, overrides and config-secret redaction) with
 * `createOrdinaryLogSafetyFormat` in front. Add it to the backend next
 * to the audit log so that no secret leaves the process through ordinary logs.
 *
 * @public
 */
export const auditRootLoggerServiceFactory = createServiceFactory({
  service: coreServices.rootLogger,
  deps: { config: coreServices.rootConfig, core: auditLogCoreServiceRef },
  async factory({ config, core }) {
    const redactor = Redactor.create(core.config.redaction);
    const production = process.env.NODE_ENV === 'production';
    const logger = WinstonLogger.create({
      meta: {
        service: 'backstage',
        ...config
          .getOptionalConfig('backend.logger.meta')
          ?.get<Record<string, string>>(),
      },
      level:
        process.env.LOG_LEVEL ||
        config.getOptionalString('backend.logger.level') ||
        'info',
      format: winston.format.combine(
        createOrdinaryLogSafetyFormat(redactor),
        production ? winston.format.json() : WinstonLogger.colorFormat(),
      ),
      transports: [new winston.transports.Console()],
    });
    const secretEnumerator = await createConfigSecretEnumerator({ logger });
    logger.addRedactions(secretEnumerator(config));
    config.subscribe?.(() => logger.addRedactions(secretEnumerator(config)));
    const overrides = config.getOptional<WinstonLoggerLevelOverride[]>(
      'backend.logger.overrides',
    );
    if (overrides) {
      logger.setLevelOverrides(overrides);
    }
    return logger;
  },
});
