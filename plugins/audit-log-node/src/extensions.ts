import { createServiceRef, LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { AuditRecord } from './record';
import { AuditRouteTable } from './routes/types';

/**
 * Renders records in one output format. The pipeline renders each record
 * once per format in use, and every sink of that format shares the bytes.
 *
 * @public
 */
export interface AuditFormat {
  /** The id sinks name in config (`format: cadf`). */
  readonly id: string;
  /**
   * One record as one line of text, without a line break. `undefined` leaves
   * the record out of this format's sinks. A throw is counted as a failure of
   * every sink of the format (reason `format`); the pipeline goes on.
   *
   * The record is already redacted. A format adds no value that the record
   * does not hold, except ones derived from it (ids, mapped names).
   */
  render(record: AuditRecord): string | undefined;
}

/**
 * How a sink's records travel:
 *
 * - `sync`: written synchronously inside `emit` (stdout's default).
 * - `batched`: buffered and written once per event-loop turn, flushed
 *   synchronously on exit and on SIGTERM (stdout).
 * - `best-effort`: a bounded queue; never delays a request; records are
 *   dropped, and counted, only when the queue is full.
 * - `blocking`: as best-effort, but a request's completion waits (bounded by
 *   `blockingTimeoutMs`) until its completion record is delivered. Sink errors
 *   never fail the request.
 * - `strict`: as blocking, and a request whose initiation record cannot be
 *   delivered is refused with 503 before its handler runs.
 *
 * @public
 */
export type AuditDeliveryMode =
  'sync' | 'batched' | 'best-effort' | 'blocking' | 'strict';

/** A record as a sink receives it: the redacted record and its rendered line. @public */
export interface AuditSinkEntry {
  readonly record: AuditRecord;
  /** The record rendered by the sink's format, one line without a line break. */
  readonly line: string;
}

/**
 * Where one configured sink's entries go. The pipeline owns the queue,
 * batching, retries with backoff, delivery modes and counters; a transport
 * only moves entries to its destination.
 *
 * @public
 */
export interface AuditSinkTransport {
  /**
   * Delivers entries, in order; called with one batch at a time, never
   * concurrently. Resolves once the destination holds them (what "holds"
   * means is the sink type's documented guarantee). Rejects to have the
   * whole batch retried later, in order: a transport must therefore make a
   * redelivery harmless (idempotent keys, ids) or say so. Entries that can
   * never be delivered are reported with {@link AuditSinkContext.dropped}
   * and the call resolves.
   */
  deliver(entries: readonly AuditSinkEntry[]): Promise<void>;
  /**
   * Synchronous delivery, for the `sync` and `batched` modes: writes the
   * lines (each already followed by a line break) at once; throws on failure.
   * Only transports that support those modes implement it.
   */
  writeSync?(text: string): void;
  /**
   * Flushes what the transport itself buffers and releases resources. Called
   * once, on shutdown, after the queue drained. A transport with slow work
   * left (uploads) stops it by `options.deadline` and keeps the rest where
   * its next start finds it, or counts it as dropped.
   */
  close?(options?: AuditSinkCloseOptions): Promise<void>;
}

/**
 * What {@link AuditSinkTransport.close} is told.
 *
 * @public
 */
export interface AuditSinkCloseOptions {
  /**
   * When the audit log's shutdown must be over (epoch ms): the end of
   * `auditLog.shutdownTimeoutMs`, counted from the start of the backend's
   * shutdown. It may already have passed.
   */
  readonly deadline: number;
}

/**
 * Keys of an `auditLog.sinks.<name>` block that the pipeline reads; every
 * other key is the sink type's. A sink type that rejects unknown keys skips
 * these.
 *
 * @public
 */
export const AUDIT_SINK_PIPELINE_KEYS: readonly string[] = [
  'type',
  'format',
  'delivery',
  'level',
  'queue',
  'waitTimeoutMs',
  'enabled',
];

/** What a sink type gets for each configured sink. @public */
export interface AuditSinkContext {
  /** The sink's name: the key under `auditLog.sinks`. */
  readonly name: string;
  /**
   * The sink's own config block (`auditLog.sinks.<name>`). `type`, `format`,
   * `delivery`, `level` and `queue` are the pipeline's; every other key is
   * the type's to read and validate (naming the full key on errors).
   */
  readonly config: Config;
  /** The full config key of the block, for error messages (`auditLog.sinks.<name>`). */
  readonly configKey: string;
  readonly logger: LoggerService;
  /** Counts records the destination refused for good (never retried) under `reason`. */
  dropped(count: number, reason: string, error?: unknown): void;
}

/**
 * A kind of output (`type: file`). Provided through
 * {@link auditLogSinkTypesServiceRef}; each `auditLog.sinks.<name>` block of
 * this type gets its own transport and queue.
 *
 * @public
 */
export interface AuditSinkType {
  /** The `type` value in config. */
  readonly type: string;
  /** Delivery modes this type supports; the first is its default. */
  readonly deliveryModes: readonly AuditDeliveryMode[];
  /** Format used when the sink names none. Default `rhdh`. */
  readonly defaultFormat?: string;
  create(
    context: AuditSinkContext,
  ): AuditSinkTransport | Promise<AuditSinkTransport>;
}

/**
 * Output formats, one service factory per format. Multiton: add as many as
 * you like, each with
 * `backend.add(createServiceFactory({ service: auditLogFormatsServiceRef, ... }))`.
 *
 * @public
 */
export const auditLogFormatsServiceRef = createServiceRef<AuditFormat>({
  id: 'audit-log.format',
  scope: 'root',
  multiton: true,
});

/**
 * Sink types, one service factory per type (multiton).
 *
 * @public
 */
export const auditLogSinkTypesServiceRef = createServiceRef<AuditSinkType>({
  id: 'audit-log.sink-type',
  scope: 'root',
  multiton: true,
});

/**
 * Plugins' audit vocabularies: one route table per audited plugin (multiton).
 *
 * @public
 */
export const auditLogRouteTablesServiceRef = createServiceRef<AuditRouteTable>({
  id: 'audit-log.route-table',
  scope: 'root',
  multiton: true,
});
