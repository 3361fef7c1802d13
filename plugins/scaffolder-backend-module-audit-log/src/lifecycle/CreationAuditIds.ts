import { AsyncLocalStorage } from 'node:async_hooks';
import { delegateExcept } from './delegate';
import type { InternalTaskStore } from './internals';

/** Entries kept; the oldest go first. Tasks usually start within seconds. */
const DEFAULT_CAPACITY = 10_000;

/**
 * Links a task to the auditId of the `POST /v2/tasks` request that created
 * it, in memory and bounded. The request's auditId is put in scope while the
 * scaffolder handles the request ({@link CreationAuditIds.runWithin}); the
 * task store records it as soon as the task row exists
 * ({@link CreationAuditIds.linkCurrent}), before any worker can claim it.
 *
 * Per process: a task claimed on another replica, or after a restart, has no
 * link and its records carry no `creationAuditId`.
 *
 * @public
 */
export class CreationAuditIds {
  readonly #byTaskId = new Map<string, string>();
  readonly #scope = new AsyncLocalStorage<string>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.#capacity = capacity;
  }

  /** Runs `fn` (the rest of the request's handling) with `auditId` in scope. */
  runWithin<T>(auditId: string, fn: () => T): T {
    return this.#scope.run(auditId, fn);
  }

  /** Links a just-created task to the creation request in scope, if any. */
  linkCurrent(taskId: string): void {
    const auditId = this.#scope.getStore();
    if (auditId) {
      this.link(taskId, auditId);
    }
  }

  /** Links a task to a creation request (first link wins). */
  link(taskId: string, auditId: string): void {
    if (this.#byTaskId.has(taskId)) {
      return;
    }
    if (this.#byTaskId.size >= this.#capacity) {
      const oldest = this.#byTaskId.keys().next().value;
      if (oldest !== undefined) {
        this.#byTaskId.delete(oldest);
      }
    }
    this.#byTaskId.set(taskId, auditId);
  }

  get(taskId: string | undefined): string | undefined {
    return taskId === undefined ? undefined : this.#byTaskId.get(taskId);
  }
}

/**
 * The task store with creation linking: a task is linked to its creation
 * request as soon as its row exists, before the broker wakes any worker.
 */
export function withCreationLinks(
  store: InternalTaskStore,
  ids: CreationAuditIds,
): InternalTaskStore {
  return delegateExcept(store, {
    async createTask(options) {
      const created = await store.createTask(options);
      try {
        ids.linkCurrent(created.taskId);
      } catch {
        // Linking is best effort; the task is created either way.
      }
      return created;
    },
  });
}
