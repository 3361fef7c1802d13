import fs from 'node:fs';
import path from 'node:path';
import type {
  AuditorService,
  AuthService,
  DatabaseService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import type { EventsService } from '@backstage/plugin-events-node';
import type {
  SerializedTask,
  TaskBroker,
  TaskBrokerDispatchOptions,
} from '@backstage/plugin-scaffolder-node';
import type { TemplateFilter } from 'nunjitsu';

const PACKAGE = '@backstage/plugin-scaffolder-backend';
/**
 * The releases this module was verified against, file by file (the internal
 * files below and the runner's log texts) and by the module's tests. Any
 * other version fails start-up: internal files can change in any release.
 * Keep in step with the peer dependency range in package.json.
 */
export const SUPPORTED_SCAFFOLDER_VERSIONS: readonly string[] = ['4.3.0'];

const TASKS_DIR = 'dist/scaffolder/tasks';
const FILES = {
  broker: `${TASKS_DIR}/StorageTaskBroker.cjs.js`,
  store: `${TASKS_DIR}/DatabaseTaskStore.cjs.js`,
  runner: `${TASKS_DIR}/NunjucksWorkflowRunner.cjs.js`,
  filters: 'dist/lib/templating/filters/createDefaultFilters.cjs.js',
};

/**
 * Texts of the workflow runner's task log that step records are derived
 * from (see `logEvents.ts`). If one disappears, records would silently lose
 * skips or iterations, so start-up fails instead.
 */
const RUNNER_MARKERS = [
  'because its if condition was false',
  'because a previous step failed',
  'does not support dry-run',
  'because it was already completed in a previous run',
  'Running step each: ',
  'Skipping step each: ',
  'Beginning step ',
  'Finished step ',
];

/** The subset of upstream's internal `DatabaseTaskStore` this module calls. */
export interface InternalTaskStore {
  createTask(options: TaskBrokerDispatchOptions): Promise<{ taskId: string }>;
  getTask(taskId: string): Promise<SerializedTask>;
  listStaleTasks(options: {
    timeoutS: number;
  }): Promise<{ tasks: Array<{ taskId: string }> }>;
  shutdownTask(options: { taskId: string }): Promise<void>;
}

/** Upstream's internal `DatabaseTaskStore` class (static side). */
export interface InternalTaskStoreClass {
  create(options: {
    database: DatabaseService;
    events?: EventsService;
    recoverTasksEnabled?: boolean;
  }): Promise<InternalTaskStore>;
}

/** Upstream's internal `StorageTaskBroker` class (its default broker). */
export type InternalTaskBrokerClass = new (
  storage: InternalTaskStore,
  logger: LoggerService,
  config: Config,
  auth: AuthService,
  additionalWorkspaceProviders: Record<string, unknown> | undefined,
  auditor: AuditorService,
) => TaskBroker;

/** What this module uses from the installed scaffolder backend. @public */
export interface ScaffolderInternals {
  version: string;
  DatabaseTaskStore: InternalTaskStoreClass;
  StorageTaskBroker: InternalTaskBrokerClass;
  /**
   * Upstream's default template filters (`parseRepoUrl`, `pick`...), for
   * re-rendering step inputs. Undefined when they could not be loaded: then
   * inputs using them are recorded as written.
   */
  createDefaultFilters?: (config: Config) => Record<string, TemplateFilter>;
}

/**
 * Thrown at start-up when the installed scaffolder backend lacks what the
 * task-lifecycle audit relies on.
 *
 * @public
 */
export class ScaffolderInternalsError extends Error {
  constructor(detail: string, cause?: unknown) {
    super(
      `Audit log: the scaffolder task-lifecycle audit cannot start: ${detail}. ` +
        `It supports ${PACKAGE} ${SUPPORTED_SCAFFOLDER_VERSIONS.join(', ')} only. ` +
        `Install a supported version, or set auditLog.scaffolder.taskLifecycle: false ` +
        `to keep only the scaffolder's HTTP audit records.`,
    );
    this.name = 'ScaffolderInternalsError';
    if (cause !== undefined) {
      (this as { cause?: unknown }).cause = cause;
    }
  }
}

type Loaded = Record<string, unknown>;

function load(packageDir: string, file: string): Loaded {
  const full = path.join(packageDir, file);
  try {
    // By absolute path: the package's `exports` hide these files.
    return require(full) as Loaded;
  } catch (error) {
    throw new ScaffolderInternalsError(
      `${file} could not be loaded (${(error as Error).message})`,
      error,
    );
  }
}

function requireMethods(
  name: string,
  target: unknown,
  methods: string[],
): void {
  for (const method of methods) {
    if (typeof (target as Loaded | undefined)?.[method] !== 'function') {
      throw new ScaffolderInternalsError(`${name}.${method} is missing`);
    }
  }
}

/**
 * Loads and checks the internals of the installed scaffolder backend that the
 * task-lifecycle audit builds on, after checking that its version is one of
 * {@link SUPPORTED_SCAFFOLDER_VERSIONS}: its default task broker and task store
 * (the broker extension point can only replace the broker, so the default
 * one is built here and decorated), and the workflow runner's log texts.
 * Throws {@link ScaffolderInternalsError} naming what is missing.
 *
 * @public
 */
export function loadScaffolderInternals(
  options: { packageDir?: string } = {},
): ScaffolderInternals {
  let packageDir = options.packageDir;
  if (!packageDir) {
    try {
      packageDir = path.dirname(require.resolve(`${PACKAGE}/package.json`));
    } catch (error) {
      throw new ScaffolderInternalsError(`${PACKAGE} is not installed`, error);
    }
  }
  let version: string;
  try {
    version = JSON.parse(
      fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'),
    ).version;
  } catch (error) {
    throw new ScaffolderInternalsError(
      `cannot read ${PACKAGE}'s package.json in ${packageDir}`,
      error,
    );
  }
  if (!SUPPORTED_SCAFFOLDER_VERSIONS.includes(version)) {
    throw new ScaffolderInternalsError(
      `${PACKAGE} ${version} is installed, and its internal files are unverified`,
    );
  }

  const { StorageTaskBroker, TaskManager } = load(packageDir, FILES.broker);
  const { DatabaseTaskStore } = load(packageDir, FILES.store);
  requireMethods(
    'StorageTaskBroker.prototype',
    (StorageTaskBroker as Loaded)?.prototype,
    [
      'claim',
      'dispatch',
      'cancel',
      'retry',
      'recoverTasks',
      'vacuumTasks',
      'event$',
      'get',
      'list',
    ],
  );
  // claim() hands out TaskManagers: their log and completion are what is observed.
  requireMethods('TaskManager.prototype', (TaskManager as Loaded)?.prototype, [
    'emitLog',
    'complete',
  ]);
  requireMethods('DatabaseTaskStore', DatabaseTaskStore, ['create']);
  requireMethods(
    'DatabaseTaskStore.prototype',
    (DatabaseTaskStore as Loaded)?.prototype,
    ['createTask', 'getTask', 'listStaleTasks', 'shutdownTask'],
  );

  let runnerSource: string;
  try {
    runnerSource = fs.readFileSync(path.join(packageDir, FILES.runner), 'utf8');
  } catch (error) {
    throw new ScaffolderInternalsError(`${FILES.runner} is missing`, error);
  }
  const missing = RUNNER_MARKERS.filter(m => !runnerSource.includes(m));
  if (missing.length > 0) {
    throw new ScaffolderInternalsError(
      `the workflow runner no longer logs ${missing.map(m => `'${m.trim()}'`).join(', ')}`,
    );
  }

  return {
    version,
    DatabaseTaskStore: DatabaseTaskStore as unknown as InternalTaskStoreClass,
    StorageTaskBroker: StorageTaskBroker as unknown as InternalTaskBrokerClass,
    createDefaultFilters: loadDefaultFilters(packageDir),
  };
}

/** Best effort: rendering falls back to the raw template when a filter is unknown. */
function loadDefaultFilters(
  packageDir: string,
): ScaffolderInternals['createDefaultFilters'] {
  try {
    const { createDefaultFilters } = require(
      path.join(packageDir, FILES.filters),
    ) as Loaded;
    // The scaffolder's own copy, so the filters see the integrations it sees.
    const { ScmIntegrations } = require(
      require.resolve('@backstage/integration', { paths: [packageDir] }),
    ) as { ScmIntegrations: { fromConfig(config: Config): unknown } };
    if (typeof createDefaultFilters !== 'function') {
      return undefined;
    }
    return config => {
      const integrations = ScmIntegrations.fromConfig(config);
      const list = (
        createDefaultFilters as (o: { integrations: unknown }) => unknown
      )({
        integrations,
      });
      const filters: Record<string, TemplateFilter> = {};
      for (const item of Array.isArray(list) ? list : []) {
        const { id, filter } = (item ?? {}) as {
          id?: unknown;
          filter?: unknown;
        };
        if (typeof id === 'string' && typeof filter === 'function') {
          filters[id] = (input, ...args) =>
            (filter as TemplateFilter)(input, ...args);
        }
      }
      return filters;
    };
  } catch {
    return undefined;
  }
}
