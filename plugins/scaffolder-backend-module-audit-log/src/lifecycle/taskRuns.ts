import type { Config } from '@backstage/config';
import type { TaskContext } from '@backstage/plugin-scaffolder-node';
import type { TemplateFilter } from 'nunjitsu';
import type { CreationAuditIds } from './CreationAuditIds';
import { readDefaultEnvironment } from './environment';
import { StepRenderer, StepRendererOptions } from './StepRenderer';
import type { AuditedStep, TaskRun } from './TaskAuditTrail';

/** The string values of secret maps; only these leave the task, and only to scrub. */
function secretValuesOf(
  ...maps: Array<Record<string, unknown> | undefined>
): string[] {
  const out: string[] = [];
  for (const map of maps) {
    for (const value of Object.values(map ?? {})) {
      if (typeof value === 'string' && value.length > 0) {
        out.push(value);
      }
    }
  }
  return out;
}

function lazy<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      made = true;
      value = make();
    }
    return value;
  };
}

/** A dry run as the audit sees it: its request, its response and who asked. @public */
export interface DryRunDescription {
  templateRef?: string;
  /** The user who asked (user principals only), as upstream's `spec.user.ref`. */
  userRef?: string;
  actorId: string | null;
  parameters: unknown;
  steps: readonly AuditedStep[];
  secrets?: Record<string, unknown>;
  creationAuditId?: string;
}

/** @public */
export interface TaskRunFactoryOptions {
  config: Config;
  creationAuditIds: CreationAuditIds;
  /** Upstream's default template filters, when they could be loaded. */
  createDefaultFilters?: (config: Config) => Record<string, TemplateFilter>;
}

/**
 * Describes task runs for {@link TaskAuditTrail}: what the records say about
 * a claimed task or a dry run, and which values they must never contain.
 * Secrets are read once, reduced to their values for scrubbing and to their
 * names for masked rendering; the secrets object itself is never kept.
 *
 * @public
 */
export class TaskRunFactory {
  readonly #options: TaskRunFactoryOptions;
  readonly #filters: () => Record<string, TemplateFilter> | undefined;

  constructor(options: TaskRunFactoryOptions) {
    this.#options = options;
    this.#filters = lazy(() => {
      try {
        return options.createDefaultFilters?.(options.config);
      } catch {
        return undefined;
      }
    });
  }

  /** A task a worker just claimed. */
  fromTask(task: TaskContext): TaskRun {
    const { spec } = task;
    const env = readDefaultEnvironment(this.#options.config);
    // task.secrets includes backstageToken and __initiatorCredentials.
    const secrets = task.secrets as Record<string, unknown> | undefined;
    const rendererOptions: StepRendererOptions = {
      parameters: spec.parameters,
      user: spec.user,
      taskId: task.taskId,
      secretNames: Object.keys(secrets ?? {}),
      environment: {
        parameters: env.parameters,
        secretNames: Object.keys(env.secrets),
      },
    };
    const ids = this.#options.creationAuditIds;
    return {
      taskId: task.taskId,
      templateRef: spec.templateInfo?.entityRef,
      createdBy: task.createdBy ?? spec.user?.ref,
      parameters: spec.parameters,
      steps: spec.steps as readonly AuditedStep[],
      secretValues: secretValuesOf(secrets, env.secrets),
      isDryRun: false,
      renderer: lazy(() =>
        StepRenderer.create({ ...rendererOptions, filters: this.#filters() }),
      ),
      creationAuditId: () => ids.get(task.taskId),
      isCancelled: () => task.cancelSignal?.aborted ?? false,
    };
  }

  /** A dry run, replayed from its HTTP exchange. */
  fromDryRun(dryRun: DryRunDescription): TaskRun {
    const env = readDefaultEnvironment(this.#options.config);
    const rendererOptions: StepRendererOptions = {
      parameters: dryRun.parameters,
      // The dry run's user entity and workspace name are not in its response.
      user: undefined,
      taskId: undefined,
      secretNames: [...Object.keys(dryRun.secrets ?? {}), 'backstageToken'],
      environment: {
        parameters: env.parameters,
        secretNames: Object.keys(env.secrets),
      },
    };
    return {
      templateRef: dryRun.templateRef,
      createdBy: dryRun.userRef,
      actorId: dryRun.actorId,
      parameters: dryRun.parameters,
      steps: dryRun.steps,
      secretValues: secretValuesOf(dryRun.secrets, env.secrets),
      isDryRun: true,
      renderer: lazy(() =>
        StepRenderer.create({ ...rendererOptions, filters: this.#filters() }),
      ),
      creationAuditId: () => dryRun.creationAuditId,
    };
  }
}
