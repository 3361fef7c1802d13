import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import {
  loadScaffolderInternals,
  ScaffolderInternalsError,
  SUPPORTED_SCAFFOLDER_VERSIONS,
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

/**
 * A fake scaffolder package: the real files, with some replaced, under a
 * supported version unless another is given.
 */
function fakePackage(
  files: Record<string, string | null>,
  version = SUPPORTED_SCAFFOLDER_VERSIONS[0],
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-scaffolder-'));
  created.push(dir);
  fs.mkdirSync(path.join(dir, TASKS), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version }));
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
    // The workspace's tests run on the installed version: it must be a supported one.
    expect(SUPPORTED_SCAFFOLDER_VERSIONS).toContain(internals.version);
    expect(typeof internals.DatabaseTaskStore.create).toBe('function');
    expect(typeof internals.StorageTaskBroker).toBe('function');
    expect(typeof internals.createDefaultFilters).toBe('function');
  });

  it('supports exactly the versions the peer dependency allows', () => {
    const pkg = JSON.parse(
      fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'),
    );
    expect(
      pkg.peerDependencies['@backstage/plugin-scaffolder-backend'].split(
        ' || ',
      ),
    ).toEqual(SUPPORTED_SCAFFOLDER_VERSIONS);
  });

  it.each(['4.2.0', '4.3.1', '5.0.0'])(
    'refuses scaffolder-backend %s, naming the supported versions and the switch',
    version => {
      // The real, working files: only the version differs.
      const dir = fakePackage({}, version);
      let error: unknown;
      try {
        loadScaffolderInternals({ packageDir: dir });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScaffolderInternalsError);
      const { message } = error as Error;
      expect(message).toContain(
        `@backstage/plugin-scaffolder-backend ${version} is installed`,
      );
      expect(message).toContain(
        'It supports @backstage/plugin-scaffolder-backend 4.3.0 only',
      );
      expect(message).toContain('auditLog.scaffolder.taskLifecycle: false');
    },
  );

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

  it('stops start-up on an unsupported scaffolder version, before touching the broker', async () => {
    const d = deps({ scaffolderPackageDir: fakePackage({}, '4.2.0') });
    await expect(installTaskLifecycleAudit(d)).rejects.toThrow(
      /4\.2\.0 is installed.*supports @backstage\/plugin-scaffolder-backend 4\.3\.0 only.*auditLog\.scaffolder\.taskLifecycle: false/,
    );
    expect(d.taskBroker.setTaskBroker).not.toHaveBeenCalled();
  });

  it('starts on an unsupported version when the lifecycle records are switched off', async () => {
    const d = deps({
      config: new ConfigReader({
        auditLog: { scaffolder: { taskLifecycle: false } },
      }),
      scaffolderPackageDir: fakePackage({}, '4.2.0'),
    });
    await expect(installTaskLifecycleAudit(d)).resolves.toBeUndefined();
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
