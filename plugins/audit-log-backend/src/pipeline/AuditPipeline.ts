import type {
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import type { Request } from 'express';
import {
  AuditActor,
  AuditDeliveryMode,
  AuditEventInput,
  AuditFormat,
  AuditLogService,
  AuditLogStats,
  AuditRecord,
  AuditRecordBuilder,
  AuditRequestContext,
  AuditSinkEntry,
  AuditSinkTransport,
  AuditSinkType,
  Redactor,
} from '@backstage-audit/plugin-audit-log-node';
import type { AuditLogConfig, AuditSinkConfig } from '../config';
import { AuditActorResolver } from '../capture/AuditActorResolver';
import { AuditRequestRegistry } from '../capture/AuditRequestRegistry';
import { AuditMetrics } from './AuditMetrics';
import { BatchedSinkRunner } from './BatchedSinkRunner';
import { FailureReporter } from './FailureReporter';
import { QueuedSinkRunner } from './QueuedSinkRunner';
import { SinkCounters } from './SinkCounters';
import { SinkRunner } from './SinkRunner';
import { SyncSinkRunner } from './SyncSinkRunner';

/** npm level values: lower is more severe. */
const LEVELS: Record<string, number> = {
  error: 0,
  warn: 1,
  info: 2,
  http: 3,
  verbose: 4,
  debug: 5,
  silly: 6,
};

/** The sinks that render one format, by the lowest severity each accepts. */
interface FormatGroup {
  format: AuditFormat;
  sinks: Array<{ runner: SinkRunner; maxLevel: number }>;
}

/** @public */
export interface AuditPipelineOptions {
  config: AuditLogConfig;
  formats: readonly AuditFormat[];
  sinkTypes: readonly AuditSinkType[];
  requests: AuditRequestRegistry;
  actors: AuditActorResolver;
  logger: LoggerService;
  /** Minimum interval between two failure reports on the logger. Default 10 s. */
  failureReportIntervalMs?: number;
}

function unknownError(
  what: string,
  key: string,
  name: string,
  known: string[],
) {
  return new Error(
    `Invalid config at ${key}: unknown ${what} '${name}'; installed: ${
      known.join(', ') || 'none'
    }. Add the module that provides it with backend.add(...).`,
  );
}

/**
 * The audit log: build and redact -> format (once per format in use) -> each
 * sink behind its own delivery mode. Sinks and formats come from the
 * multiton services, all known before the pipeline is built; nothing is
 * added later. Nothing here throws into the caller; every record that cannot
 * be built or delivered is counted.
 */
export class AuditPipeline implements AuditLogService {
  readonly #config: AuditLogConfig;
  readonly #builder: AuditRecordBuilder;
  readonly #groups: FormatGroup[];
  readonly #runners: SinkRunner[];
  readonly #requests: AuditRequestRegistry;
  readonly #actors: AuditActorResolver;
  readonly #metrics: AuditMetrics;
  readonly #reporter: FailureReporter;
  readonly #include?: Set<string>;
  readonly #exclude: Set<string>;
  /** Whether some sink waits, and whether one refuses requests. */
  readonly waits: 'none' | 'blocking' | 'strict';
  #emitted = 0;
  #filtered = 0;
  #failed = 0;

  static async create(options: AuditPipelineOptions): Promise<AuditPipeline> {
    const { config, logger } = options;
    const metrics = AuditMetrics.create();
    const formats = new Map<string, AuditFormat>();
    for (const format of options.formats) {
      if (formats.has(format.id)) {
        throw new Error(
          `Audit log: two formats are registered with id '${format.id}'`,
        );
      }
      formats.set(format.id, format);
    }
    const types = new Map<string, AuditSinkType>();
    for (const type of options.sinkTypes) {
      if (types.has(type.type)) {
        throw new Error(
          `Audit log: two sink types are registered as '${type.type}'`,
        );
      }
      types.set(type.type, type);
    }
    // The reporter's totals read the pipeline once it has been built.
    const built: { pipeline?: AuditPipeline } = {};
    const reporter = FailureReporter.create({
      logger,
      intervalMs: options.failureReportIntervalMs,
      totals: () => built.pipeline?.stats(),
    });
    const report = (where: string) => (error: unknown) =>
      reporter.report(where, error);

    const groups = new Map<string, FormatGroup>();
    const runners: SinkRunner[] = [];
    for (const sink of config.enabled ? config.sinks : []) {
      const type = types.get(sink.type);
      if (!type) {
        throw unknownError('sink type', `${sink.configKey}.type`, sink.type, [
          ...types.keys(),
        ]);
      }
      const formatId = sink.format ?? type.defaultFormat ?? 'rhdh';
      const format = formats.get(formatId);
      if (!format) {
        throw unknownError('format', `${sink.configKey}.format`, formatId, [
          ...formats.keys(),
        ]);
      }
      const mode = sink.delivery ?? type.deliveryModes[0];
      if (!type.deliveryModes.includes(mode)) {
        throw new Error(
          `Invalid config at ${sink.configKey}.delivery: sink type '${type.type}' supports ${type.deliveryModes.join(', ')}, not '${mode}'`,
        );
      }
      const counters = new SinkCounters(sink.name, metrics);
      const transport = await type.create({
        name: sink.name,
        config: sink.config,
        configKey: sink.configKey,
        logger: logger.child({ auditSink: sink.name }),
        dropped(count, reason, error) {
          counters.transportDropped(reason, count);
          if (error !== undefined) {
            report(`sink ${sink.name}`)(error);
          }
        },
      });
      const runner = createRunner(
        sink,
        mode,
        transport,
        counters,
        report(`sink ${sink.name}`),
      );
      if (runner instanceof QueuedSinkRunner) {
        metrics.watchQueue(sink.name, () => runner.depth);
      }
      runners.push(runner);
      let group = groups.get(formatId);
      if (!group) {
        group = { format, sinks: [] };
        groups.set(formatId, group);
      }
      group.sinks.push({ runner, maxLevel: LEVELS[sink.level] ?? LEVELS.info });
    }
    built.pipeline = new AuditPipeline(
      options,
      [...groups.values()],
      runners,
      metrics,
      reporter,
    );
    return built.pipeline;
  }

  private constructor(
    options: AuditPipelineOptions,
    groups: FormatGroup[],
    runners: SinkRunner[],
    metrics: AuditMetrics,
    reporter: FailureReporter,
  ) {
    const config = options.config;
    this.#config = config;
    this.#builder = AuditRecordBuilder.create({
      redactor: Redactor.create(config.redaction),
      defaultLevel: config.levels.default,
      eventLevels: config.levels.events,
      includeErrorStack: config.errors.includeStack,
      maxBodyBytes: config.body.maxBytes,
    });
    this.#groups = groups;
    this.#runners = runners;
    this.#requests = options.requests;
    this.#actors = options.actors;
    this.#metrics = metrics;
    this.#reporter = reporter;
    const events = options.config.events;
    this.#include = events.include.length ? new Set(events.include) : undefined;
    this.#exclude = new Set(events.exclude);
    if (runners.some(r => r.mode === 'strict')) {
      this.waits = 'strict';
    } else if (runners.some(r => r.mode === 'blocking')) {
      this.waits = 'blocking';
    } else {
      this.waits = 'none';
    }
  }

  isEventEnabled(eventName: string): boolean {
    if (!this.#config.enabled) {
      return false;
    }
    if (this.#include && !this.#include.has(eventName)) {
      return false;
    }
    return !this.#exclude.has(eventName);
  }

  emit(event: AuditEventInput): void {
    const record = this.#build(event);
    if (record) {
      this.#deliver(record, undefined);
    }
  }

  emitAndWait(event: AuditEventInput): Promise<boolean> {
    const record = this.#build(event);
    if (!record) {
      return Promise.resolve(false);
    }
    const waits: Promise<boolean>[] = [];
    this.#deliver(record, waits);
    if (waits.length === 0) {
      return Promise.resolve(true);
    }
    return Promise.all(waits).then(all => all.every(Boolean));
  }

  #build(event: AuditEventInput): AuditRecord | undefined {
    if (!this.isEventEnabled(event.eventName)) {
      this.#filtered++;
      this.#metrics.record('filtered');
      return undefined;
    }
    try {
      const record = this.#builder.build(event);
      this.#emitted++;
      this.#metrics.record('emitted');
      return record;
    } catch (error) {
      this.#failed++;
      this.#metrics.record('failed');
      this.#reporter.report('build', error);
      return undefined;
    }
  }

  /** Renders the record once per format that some sink wants at its level, and hands it on. */
  #deliver(record: AuditRecord, waits: Promise<boolean>[] | undefined): void {
    const level = LEVELS[record.level] ?? LEVELS.info;
    for (const group of this.#groups) {
      let entry: AuditSinkEntry | undefined;
      let failed = false;
      for (const { runner, maxLevel } of group.sinks) {
        if (level > maxLevel) {
          continue;
        }
        if (!entry && !failed) {
          try {
            const line = group.format.render(record);
            if (line === undefined) {
              break;
            }
            entry = { record, line };
          } catch (error) {
            failed = true;
            this.#reporter.report(`format ${group.format.id}`, error);
          }
        }
        if (!entry) {
          runner.lost('format');
          continue;
        }
        try {
          const wait = runner.accept(entry, waits !== undefined);
          if (wait) {
            waits!.push(wait);
          }
        } catch (error) {
          // Runners never throw; a broken one must still not reach the caller.
          runner.lost('sink-error');
          this.#reporter.report(`sink ${runner.name}`, error);
        }
      }
    }
  }

  requestContext(req: Request): AuditRequestContext | undefined {
    return this.#requests.get(req);
  }

  resolveActor(req: Request, httpAuth: HttpAuthService): Promise<AuditActor> {
    return this.#actors.resolve(req, httpAuth);
  }

  reportFailure(where: string, error: unknown): void {
    this.#failed++;
    this.#reporter.report(where, error);
  }

  /**
   * The backend is stopping: from now on, flushing and closing share one
   * deadline, `auditLog.shutdownTimeoutMs` away, however many shutdown hooks
   * ask (the audit-log plugin drains the sinks before its database closes,
   * the pipeline closes them last).
   */
  beginShutdown(): void {
    this.#shutdownDeadline ??= Date.now() + this.#config.shutdownTimeoutMs;
  }

  #shutdownDeadline?: number;

  #deadline(timeoutMs: number): number {
    return Math.min(Date.now() + timeoutMs, this.#shutdownDeadline ?? Infinity);
  }

  async flush(timeoutMs = this.#config.shutdownTimeoutMs): Promise<void> {
    const deadline = this.#deadline(timeoutMs);
    await Promise.all(this.#runners.map(r => r.flush(deadline)));
  }

  /**
   * Delivers at once what the sinks of one type hold queued now, for at most
   * `timeoutMs`: the query API settles the store sinks first, so a record
   * emitted before a query is in its answer.
   */
  async settle(sinkType: string, timeoutMs: number): Promise<void> {
    const names = new Set(
      this.#config.sinks.filter(s => s.type === sinkType).map(s => s.name),
    );
    const deadline = this.#deadline(timeoutMs);
    await Promise.all(
      this.#runners.filter(r => names.has(r.name)).map(r => r.settle(deadline)),
    );
  }

  /**
   * Waits for the completion records of requests still being answered (the
   * server lets them finish while the backend stops), then drains every sink
   * within the bound and closes it.
   */
  async close(timeoutMs = this.#config.shutdownTimeoutMs): Promise<void> {
    const deadline = this.#deadline(timeoutMs);
    await this.#requests.idle(deadline);
    await Promise.all(this.#runners.map(r => r.close(deadline)));
    this.#metrics.close();
  }

  stats(): AuditLogStats {
    const sinks: AuditLogStats['sinks'] = {};
    for (const runner of this.#runners) {
      sinks[runner.name] = runner.stats();
    }
    return {
      emitted: this.#emitted,
      filtered: this.#filtered,
      failed: this.#failed,
      sinks,
    };
  }
}

function createRunner(
  sink: AuditSinkConfig,
  mode: AuditDeliveryMode,
  transport: AuditSinkTransport,
  counters: SinkCounters,
  report: (error: unknown) => void,
): SinkRunner {
  if (mode === 'sync' || mode === 'batched') {
    if (typeof transport.writeSync !== 'function') {
      throw new Error(
        `Invalid config at ${sink.configKey}.delivery: sink '${sink.name}' cannot write synchronously ('${mode}')`,
      );
    }
    return mode === 'sync'
      ? new SyncSinkRunner(sink.name, transport, counters, report)
      : new BatchedSinkRunner(sink.name, transport, counters, report);
  }
  return new QueuedSinkRunner(sink.name, mode, transport, {
    queue: sink.queue,
    waitTimeoutMs: sink.waitTimeoutMs,
    counters,
    report,
  });
}
