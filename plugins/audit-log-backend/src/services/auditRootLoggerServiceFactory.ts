import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  WinstonLogger,
  WinstonLoggerLevelOverride,
} from '@backstage/backend-defaults/rootLogger';
import { createConfigSecretEnumerator } from '@backstage/backend-defaults/rootConfig';
import { Redactor } from '@backstage-audit/plugin-audit-log-node';
import * as winston from 'winston';
import { readAuditLogConfig } from '../config';

/**
 * A winston format for the backend's ordinary logs: redacts credential-like
 * query values in messages and URLs (Backstage's access log prints full URLs),
 * and makes sure no ordinary log line can pass for an audit record, neither
 * by a top-level `isAuditLog` field nor by the word in its message (the
 * documented cluster-logging filter matches on the message text).
 *
 * @public
 */
export function createOrdinaryLogSafetyFormat(
  redactor: Redactor,
): winston.Logform.Format {
  return winston.format(info => {
    const record = info as Record<string, unknown>;
    if (typeof record.message === 'string') {
      record.message = redactor
        .url(record.message)
        .replace(/isAuditLog/g, 'isAudit_Log');
    }
    if (typeof record.url === 'string') {
      record.url = redactor.url(record.url);
    }
    delete record.isAuditLog;
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
  deps: { config: coreServices.rootConfig },
  async factory({ config }) {
    const redactor = Redactor.create(readAuditLogConfig(config).redaction);
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
