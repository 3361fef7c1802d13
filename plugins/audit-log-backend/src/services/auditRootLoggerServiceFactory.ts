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
    return redactor.text(value);
  }
  if (value instanceof Error) {
    return redactError(redactor, value);
  }
  if (value && typeof value === 'object') {
    return redactor.copy(value);
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
 * It also makes sure no ordinary log line can pass for an audit record,
 * neither by a top-level `isAuditLog` field nor by the word in its message
 * (the documented cluster-logging filter matches on the message text).
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
      record.message = redactor
        .text(record.message)
        .replace(/isAuditLog/g, 'isAudit_Log');
    }
    for (const key of Object.keys(record)) {
      if (!KEPT_FIELDS.has(key)) {
        record[key] = redactField(redactor, key, record[key]);
      }
    }
    return info;
  })();
}

/**
 * The default root logger of `@backstage/backend-defaults` (same levels,
 * meta, overrides and config-secret redaction) with
 * {@link createOrdinaryLogSafetyFormat} in front. Add it to the backend next
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
