import type { ServiceFactory } from '@backstage/backend-plugin-api';
import { createServiceFactory } from '@backstage/backend-plugin-api';
// Types of the public API come from the main entry point, so that this entry
// point's API report refers to them rather than repeating them (type-only).
import type {
  AuditRecord,
  AuditSinkEntry,
  AuditSinkTransport,
  AuditSinkType,
} from '@backstage-audit/plugin-audit-log-node';
import { auditLogSinkTypesServiceRef } from '../extensions';

/** @public */
export interface RecordingSinkType {
  /** Every line delivered to a sink of this type, as its format rendered it, in order. */
  readonly lines: string[];
  /** The lines parsed as JSON (every built-in format renders JSON). */
  records(): AuditRecord[];
  readonly sinkType: AuditSinkType;
  /** Registers the sink type: `startTestBackend({ features: [sink.factory(), ...] })`. */
  factory(): ServiceFactory<AuditSinkType, 'root', 'multiton'>;
}

/**
 * A sink type that keeps what it receives, for tests on a real backend: add
 * the audit log backend, this factory, and config
 * `auditLog.sinks.test: { type: recording }`, then assert on `records()`.
 * Its default delivery is `sync`: a record is there as soon as it is emitted.
 *
 * @public
 */
export function createRecordingSinkType(
  options: { type?: string } = {},
): RecordingSinkType {
  const lines: string[] = [];
  const sinkType: AuditSinkType = {
    type: options.type ?? 'recording',
    deliveryModes: ['sync', 'batched', 'best-effort', 'blocking', 'strict'],
    create(): AuditSinkTransport {
      return {
        writeSync(text: string) {
          for (const line of text.split('\n')) {
            if (line) {
              lines.push(line);
            }
          }
        },
        async deliver(entries: readonly AuditSinkEntry[]) {
          for (const entry of entries) {
            lines.push(entry.line);
          }
        },
      };
    },
  };
  return {
    lines,
    records: () => lines.map(line => JSON.parse(line) as AuditRecord),
    sinkType,
    factory: () =>
      createServiceFactory({
        service: auditLogSinkTypesServiceRef,
        deps: {},
        factory: () => sinkType,
      }),
  };
}
