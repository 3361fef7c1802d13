import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  auditLogServiceRef,
  DefaultAuditLogService,
  Redactor,
  WinstonStreamSink,
} from '@backstage-audit/plugin-audit-log-node';
import { readAuditLogConfig } from '../config';

/**
 * The backend's audit pipeline: reads `auditLog` config once, builds the
 * redactor and the stdout sink, and drains every sink on shutdown.
 *
 * @public
 */
export const auditLogServiceFactory = createServiceFactory({
  service: auditLogServiceRef,
  deps: {
    config: coreServices.rootConfig,
    logger: coreServices.rootLogger,
    lifecycle: coreServices.rootLifecycle,
  },
  async factory({ config, logger, lifecycle }) {
    const options = readAuditLogConfig(config);
    const auditLogger = logger.child({ service: 'audit-log' });
    const service = DefaultAuditLogService.create({
      redactor: Redactor.create(options.redaction),
      logger: auditLogger,
      defaultLevel: options.levels.default,
      eventLevels: options.levels.events,
      includeEvents: options.events.include,
      // A disabled audit log records nothing, whatever else asks.
      excludeEvents: options.events.exclude,
      enabled: options.enabled,
      includeErrorStack: options.errors.includeStack,
      maxBodyBytes: options.body.maxBytes,
    });
    if (options.stdout.enabled) {
      service.addSink(
        WinstonStreamSink.create({
          level: options.stdout.level,
          onError: error => service.reportFailure('stdout', error),
        }),
      );
    }
    // Starting and stopping the audit trail are themselves audited (PCI DSS 10.2.1.6).
    const lifecycleEvent = (eventName: string) =>
      service.emit({
        plugin: 'audit-log',
        eventName,
        stage: 'completion',
        status: 'succeeded',
        actor: { actorId: 'plugin:audit-log' },
        meta: {
          plugins: options.plugins,
          stdout: options.stdout.enabled,
          store: options.store.enabled,
        },
      });
    lifecycle.addStartupHook(() => {
      lifecycleEvent('AuditLogStarted');
    });
    lifecycle.addBeforeShutdownHook(() => {
      lifecycleEvent('AuditLogStopped');
    });
    lifecycle.addShutdownHook(async () => {
      await service.flush();
      const stats = service.stats();
      auditLogger.info('Audit log stopped', { stats: JSON.stringify(stats) });
    });
    return service;
  },
});
