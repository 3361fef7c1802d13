import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import {
  loadScaffolderInternals,
  ScaffolderInternalsError,
  TESTED_SCAFFOLDER_VERSION,
} from './internals';
import {
  installTaskLifecycleAudit,
  TaskLifecycleAuditDeps,
} from './installTaskLifecycleAudit';

const REAL = path.dirname(
  require.resolve('@backstage/plugin-scaffolder-backend/package.json'),
);
const TASKS = 'dist/scaffolder/tasks';

const created: string[] = [];
afterAll(() => {
  for (const dir of created) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A fake scaffolder package: the real files, with some replaced. */
function fakePackage(files: Record<string, string | null>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-scaffolder-'));
  created.push(dir);
  fs.mkdirSync(path.join(dir, TASKS), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ version: '9.9.9' }),
  );
  for (const name of [
    'StorageTaskBroker.cjs.js',
    'DatabaseTaskStore.cjs.js',
    'NunjucksWorkflowRunner.cjs.js',
  ]) {
    const file = `${TASKS}/${name}`;
    const replaced = files[file];
    if (replaced === null) {
      continue;
    }
    fs.writeFileSync(
      path.join(dir, file),
      replaced ??
        `module.exports = require(${JSON.stringify(path.join(REAL, file))});`,
    );
  }
  return dir;
}

describe('loadScaffolderInternals', () => {
  it('finds everything it needs in the installed scaffolder', () => {
    const internals = loadScaffolderInternals();
    expect(internals.version).toBe(TESTED_SCAFFOLDER_VERSION);
    expect(typeof internals.DatabaseTaskStore.create).toBe('function');
    expect(typeof internals.StorageTaskBroker).toBe('function');
    expect(typeof internals.createDefaultFilters).toBe('function');
  });

  it('fails loudly, naming the file, when the broker is gone', () => {
    const dir = fakePackage({ [`${TASKS}/StorageTaskBroker.cjs.js`]: null });
    expect(() => loadScaffolderInternals({ packageDir: dir })).toThrow(
      ScaffolderInternalsError,
    );
    expect(() => loadScaffolderInternals({ packageDir: dir })).toThrow(
      /StorageTaskBroker\.cjs\.js could not be loaded.*auditLog\.scaffolder\.taskLifecycle: false/,
    );
  });

  it('fails loudly when a method it relies on is gone', () => {
    const dir = fakePackage({
      [`${TASKS}/DatabaseTaskStore.cjs.js`]:
        'exports.DatabaseTaskStore = class { static create() {} createTask() {} getTask() {} shutdownTask() {} };',
    });
    expect(() => loadScaffolderInternals({ packageDir: dir })).toThrow(
      'DatabaseTaskStore.prototype.listStaleTasks is missing',
    );
  });

  it('fails loudly when the runner no longer logs what step records are derived from', () => {
    const dir = fakePackage({
      [`${TASKS}/NunjucksWorkflowRunner.cjs.js`]:
        '// "Beginning step " "Finished step "',
    });
    expect(() => loadScaffolderInternals({ packageDir: dir })).toThrow(
      /no longer logs 'because its if condition was false'.*'Running step each:'/,
    );
  });
});

describe('installTaskLifecycleAudit', () => {
  const deps = (over: Partial<TaskLifecycleAuditDeps>) =>
    ({
      config: new ConfigReader({}),
      logger: { info: jest.fn(), warn: jest.fn() },
      taskBroker: { setTaskBroker: jest.fn() },
      ...over,
    }) as unknown as TaskLifecycleAuditDeps;

  it('stops start-up with the internals error', async () => {
    const d = deps({
      scaffolderPackageDir: fakePackage({
        [`${TASKS}/DatabaseTaskStore.cjs.js`]: null,
      }),
    });
    await expect(installTaskLifecycleAudit(d)).rejects.toThrow(
      ScaffolderInternalsError,
    );
    expect(d.taskBroker.setTaskBroker).not.toHaveBeenCalled();
  });

  it('leaves the scaffolder untouched when switched off', async () => {
    const d = deps({
      config: new ConfigReader({
        auditLog: { scaffolder: { taskLifecycle: false } },
      }),
      scaffolderPackageDir: '/nonexistent',
    });
    await installTaskLifecycleAudit(d);
    expect(d.taskBroker.setTaskBroker).not.toHaveBeenCalled();
  });
});
