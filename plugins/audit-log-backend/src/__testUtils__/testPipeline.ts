import { ConfigReader } from '@backstage/config';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { AuditSinkType } from '@backstage-audit/plugin-audit-log-node';
import { createRecordingSinkType } from '@backstage-audit/plugin-audit-log-node/testUtils';
import { readAuditLogConfig } from '../config';
import { AuditActorResolver } from '../capture/AuditActorResolver';
import { AuditRequestRegistry } from '../capture/AuditRequestRegistry';
import { rhdhFormat } from '../formats/rhdhFormat';
import { AuditPipeline } from '../pipeline/AuditPipeline';

/** A logger that keeps quiet (works outside Jest, in child processes too). */
const silentLogger: LoggerService = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child: () => silentLogger,
};

/**
 * The real pipeline, built from `auditLog` config, with a recording sink
 * (`auditLog.sinks.recording`) in place of stdout and the store. For unit
 * tests of the pipeline's parts; backend-level tests start a real backend.
 */
export async function testPipeline(
  options: {
    auditLog?: Record<string, unknown>;
    sinkTypes?: AuditSinkType[];
    logger?: LoggerService;
  } = {},
) {
  const recording = createRecordingSinkType();
  const config = readAuditLogConfig(
    new ConfigReader({
      auditLog: {
        stdout: { enabled: false },
        store: { enabled: false },
        ...options.auditLog,
        sinks: {
          recording: { type: 'recording' },
          ...(options.auditLog?.sinks as object | undefined),
        },
      },
    }),
  );
  const requests = AuditRequestRegistry.create();
  const actors = AuditActorResolver.create({ trustProxy: config.trustProxy });
  const pipeline = await AuditPipeline.create({
    config,
    formats: [rhdhFormat],
    sinkTypes: [recording.sinkType, ...(options.sinkTypes ?? [])],
    requests,
    actors,
    logger: options.logger ?? silentLogger,
  });
  return { pipeline, config, requests, actors, recording };
}
