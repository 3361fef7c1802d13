import type { AuditStore } from './AuditStore';

/**
 * Hands the audit-log plugin's store to the `store` sink. The sink exists
 * from the start, with the other sinks; the store exists once the plugin has
 * its database (a plugin-scoped service) and has run its migrations. Until
 * then the sink's deliveries wait, and its records stay queued.
 */
export class StoreBinding {
  #store?: AuditStore;
  readonly #ready: Promise<AuditStore>;
  #resolve!: (store: AuditStore) => void;
  #settle: (timeoutMs: number) => Promise<void> = async () => {};

  static create(): StoreBinding {
    return new StoreBinding();
  }

  private constructor() {
    this.#ready = new Promise(resolve => {
      this.#resolve = resolve;
    });
  }

  bind(store: AuditStore): void {
    if (this.#store) {
      throw new Error('Audit log: the store is already bound');
    }
    this.#store = store;
    this.#resolve(store);
  }

  /** The pipeline's way to deliver the `store` sinks' queued records now. */
  settleWith(settle: (timeoutMs: number) => Promise<void>): void {
    this.#settle = settle;
  }

  /**
   * Delivers what the `store` sinks hold queued, for at most `timeoutMs`, so
   * that a read sees every record emitted before it.
   */
  settle(timeoutMs: number): Promise<void> {
    return this.#settle(timeoutMs);
  }

  /** The store, once the plugin has bound it. */
  store(): Promise<AuditStore> {
    return this.#ready;
  }
}
