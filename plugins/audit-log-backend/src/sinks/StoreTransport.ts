import type {
  AuditSinkContext,
  AuditSinkEntry,
  AuditSinkTransport,
} from '@backstage-audit/plugin-audit-log-node';
import { toStoredRecord } from '../database/AuditStore';
import { insertIsolating } from '../database/insertIsolating';
import { orderedId } from '../database/orderedId';
import type { StoreBinding } from '../database/StoreBinding';

/**
 * Delivers records to the audit-log plugin's store. Each record gets its row
 * id once, the first time it is delivered: a retried batch that had in fact
 * committed lands exactly once (the store ignores known ids). A row the
 * database refuses while it answers is isolated and stored in a minimal form,
 * or given up on, and counted either way (`insertIsolating`); only an
 * unreachable database makes a delivery fail and be retried.
 */
export class StoreTransport implements AuditSinkTransport {
  readonly #binding: StoreBinding;
  readonly #context: AuditSinkContext;
  readonly #ids = new WeakMap<AuditSinkEntry, string>();

  static create(options: {
    binding: StoreBinding;
    context: AuditSinkContext;
  }): StoreTransport {
    return new StoreTransport(options.binding, options.context);
  }

  private constructor(binding: StoreBinding, context: AuditSinkContext) {
    this.#binding = binding;
    this.#context = context;
  }

  async deliver(entries: readonly AuditSinkEntry[]): Promise<void> {
    const store = await this.#binding.store();
    const rows = entries.map(entry => {
      let id = this.#ids.get(entry);
      if (!id) {
        id = orderedId();
        this.#ids.set(entry, id);
      }
      return toStoredRecord(id, entry.record, entry.line);
    });
    const context = this.#context;
    await insertIsolating(store, rows, {
      degraded(row, error) {
        context.dropped(
          1,
          'stored-minimal',
          new Error(
            `the database refused record ${row.auditId} (${describe(error)}); a minimal form was stored`,
          ),
        );
      },
      rejected(row, error) {
        context.dropped(
          1,
          'refused',
          new Error(
            `the database refused record ${row.auditId} even in minimal form (${describe(error)})`,
          ),
        );
      },
    });
  }
}

function describe(error: unknown): string {
  return String((error as Error)?.message ?? error).slice(0, 200);
}
