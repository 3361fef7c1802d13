import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  auditLogFormatsServiceRef,
  auditLogServiceRef,
  auditLogSinkTypesServiceRef,
} from '@backstage-audit/plugin-audit-log-node';
import { AuditPipeline } from '../pipeline/AuditPipeline';
import { auditLogCoreServiceRef } from './auditLogCoreServiceFactory';

/**
 * The backend's audit log: builds the pipeline from the config, every
 * registered format and sink type (known before it is built), starts and
 * stops with the backend (both audited), and drains every sink on shutdown
 * within `auditLog.shutdownTimeoutMs`.
 *
 * @public
 */
export const auditLogServiceFactory = createServiceFactory({
  service: auditLogServiceRef,
  deps: {
    core: auditLogCoreServiceRef,
    formats: auditLogFormatsServiceRef,
    sinkTypes: auditLogSinkTypesServiceRef,
    logger: coreServices.rootLogger,
    lifecycle: coreServices.rootLifecycle,
  },
  async factory({ core, formats, sinkTypes, logger, lifecycle }) {
    const { config } = core;
    const auditLogger = logger.child({ service: 'audit-log' });
    const pipeline = await AuditPipeline.create({
      config,
      formats,
      sinkTypes,
      requests: core.requests,
      actors: core.actors,
      logger: auditLogger,
    });
    core.store.settleWith(timeoutMs => pipeline.settle('store', timeoutMs));
    // Starting and stopping the audit trail are themselves audited (PCI DSS 10.2.1.6).
    const lifecycleEvent = (eventName: string) =>
      pipeline.emit({
        plugin: 'audit-log',
        eventName,
        stage: 'completion',
        status: 'succeeded',
        actor: { actorId: 'plugin:audit-log' },
        meta: {
          plugins: config.plugins,
          sinks: config.sinks.map(s => s.name),
        },
      });
    lifecycle.addStartupHook(() => {
      lifecycleEvent('AuditLogStarted');
    });
    lifecycle.addBeforeShutdownHook(() => {
      lifecycleEvent('AuditLogStopped');
      pipeline.beginShutdown();
    });
    lifecycle.addShutdownHook(async () => {
      await pipeline.close();
      auditLogger.info('Audit log stopped', {
        stats: JSON.stringify(pipeline.stats()),
      });
    });
    return pipeline;
  },
});
