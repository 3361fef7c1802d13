/**
 * A module from outside the audit-log packages, written as a third party
 * would write one: it registers a sink type and a format through the audit
 * log's multiton services, in this one file, and a backend adds it with
 * `backend.add(...)`. Tests control what its destination does.
 */
import {
  createBackendFeatureLoader,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  AuditRecord,
  AuditSinkEntry,
  auditLogFormatsServiceRef,
  auditLogSinkTypesServiceRef,
} from '@backstage-audit/plugin-audit-log-node';

/** What the destination does with the next deliveries. */
export type DestinationBehaviour =
  { kind: 'accept'; delayMs?: number } | { kind: 'fail' } | { kind: 'hang' };

/** The destination of the `ledger` sink type: what it holds, and how it behaves. */
export class Ledger {
  behaviour: DestinationBehaviour = { kind: 'accept' };
  /** Lines held, in order, with when each delivery completed. */
  readonly entries: Array<{ line: string; record: AuditRecord; at: number }> =
    [];
  attempts = 0;
  #hanging: Array<() => void> = [];

  async deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    this.attempts++;
    const b = this.behaviour;
    if (b.kind === 'fail') {
      throw new Error('ledger unavailable');
    }
    if (b.kind === 'hang') {
      await new Promise<void>(resolve => this.#hanging.push(resolve));
      throw new Error('ledger timed out');
    }
    if (b.delayMs) {
      await new Promise(r => setTimeout(r, b.delayMs));
    }
    const at = Date.now();
    for (const entry of entries) {
      this.entries.push({ line: entry.line, record: entry.record, at });
    }
  }

  /** Ends deliveries left hanging (they fail and are retried). */
  release(): void {
    for (const resolve of this.#hanging.splice(0)) resolve();
  }

  lines(): string[] {
    return this.entries.map(e => e.line);
  }

  reset(): void {
    this.release();
    this.behaviour = { kind: 'accept' };
    this.entries.length = 0;
    this.attempts = 0;
  }
}

export const ledger = new Ledger();

/**
 * `format: tagged`: `<auditId> <eventName> <stage> <status>`, one line per
 * record; nothing else of the record.
 */
export const taggedFormatFactory = createServiceFactory({
  service: auditLogFormatsServiceRef,
  deps: {},
  factory: () => ({
    id: 'tagged',
    render: (r: AuditRecord) =>
      `${r.auditId} ${r.eventName} ${r.stage} ${r.status}`,
  }),
});

/** `type: ledger`: queued deliveries to the {@link ledger}. */
export const ledgerSinkTypeFactory = createServiceFactory({
  service: auditLogSinkTypesServiceRef,
  deps: {},
  factory: () => ({
    type: 'ledger',
    deliveryModes: ['best-effort', 'blocking', 'strict'] as const,
    defaultFormat: 'tagged',
    create: () => ({
      deliver: (entries: readonly AuditSinkEntry[]) => ledger.deliver(entries),
    }),
  }),
});

/** The module: `backend.add(externalSinkModule)`. */
export const externalSinkModule = createBackendFeatureLoader({
  *loader() {
    yield taggedFormatFactory;
    yield ledgerSinkTypeFactory;
  },
});
