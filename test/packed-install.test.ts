/**
 * The README's "A new backend, from an empty folder", followed to the letter
 * in a temporary folder outside this repository, with the four packages
 * built and packed from this repository in place of the registry's:
 *
 * - the files (`package.json`, `index.js`, `app-config.yaml`,
 *   `catalog-info.yaml`) are the README's code blocks, byte for byte, except
 *   that package.json gets our tarballs instead of registry versions (the
 *   packages are not published from here), including audit-log-node's, which
 *   the backend package depends on;
 * - the commands are the README's (`npm install`, `npm start`), run by bash;
 *   the port comes from `APP_CONFIG_backend_*` variables, so that several
 *   runs can share the machine;
 * - the README's "try it" block runs as written, on that port;
 * - then the CADF and s3 modules, packed too, are installed as the README's
 *   sections on them say (`npm install <tarball>`, their `backend.add` lines,
 *   their sink examples pointed at the local Swift and RabbitMQ), and a
 *   request's records are read back with the README's fetch command (the
 *   installed bin) and received by oslo.messaging's own listener.
 *
 * Everything else comes from the npm registry (the local npm cache makes that
 * fast; better-sqlite3 compiles from source here, which takes most of the
 * time). No tsx, no links into the repository: the test checks that nothing
 * of the repository can be resolved from the new project.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import {
  startSwiftSaio,
  SwiftSaio,
} from '../plugins/audit-log-backend-module-s3/src/__testUtils__/swiftSaio';
import {
  acquireBrokerLock,
  createVhost,
  deleteVhost,
  Listener,
  notificationsOf,
  rabbitUrl,
  runId,
  startListener,
  waitForBroker,
} from './openstack/harness';
import {
  MODULE_DIRS,
  packPlugins,
  PLUGIN_DIRS,
  ROOT,
} from './support/packPlugins';

const CANARY = 'canary-packed-dry-run-7c2e';
const OUR_PACKAGES = [
  '@backstage-audit/plugin-audit-log-node',
  '@backstage-audit/plugin-audit-log-backend',
  '@backstage-audit/plugin-catalog-backend-module-audit-log',
  '@backstage-audit/plugin-scaffolder-backend-module-audit-log',
];
const CADF = '@backstage-audit/plugin-audit-log-backend-module-cadf';
const S3 = '@backstage-audit/plugin-audit-log-backend-module-s3';

interface Block {
  info: string;
  body: string;
}

/** The fenced code blocks of a README section (by default, the new-backend walkthrough). */
function readmeBlocks(
  from = '### A new backend, from an empty folder',
  to = '### An existing backend',
): Block[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(from);
  const end = readme.indexOf(to, start);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const section = readme.slice(start, end);
  return [...section.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map(m => ({
    info: m[1].trim(),
    body: m[2],
  }));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * The environment of a user's shell: no npm variables of the `npm test` that
 * runs this file, nothing of this repository on the PATH, no NODE_PATH.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_PATH') {
      continue;
    }
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(p => !p.startsWith(ROOT))
    .join(path.delimiter);
  return { ...env, FORCE_COLOR: '0', ...extra };
}

/** Runs one command line with bash in `cwd`; resolves with its output. */
function bash(
  line: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  return new Promise(resolve => {
    const child = spawn('bash', ['-c', line], { cwd, env });
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (out += d));
    child.on('close', code => resolve({ code, out }));
  });
}

/** A long-running command line (the backend), in its own process group. */
class Server {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';

  constructor(line: string, cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['-c', line], { cwd, env, detached: true });
    this.child.stdout!.on('data', d => (this.stdout += d));
    this.child.stderr!.on('data', d => (this.stderr += d));
  }

  async waitFor(what: string, probe: () => Promise<boolean> | boolean) {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        break;
      }
      try {
        if (await probe()) {
          return;
        }
      } catch {
        // not ready yet
      }
      await new Promise(r => setTimeout(r, 300));
    }
    throw new Error(
      `${what}: not seen (exit code ${this.child.exitCode})\n${this.stdout}\n${this.stderr}`,
    );
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    const exited = new Promise(r => this.child.once('exit', r));
    process.kill(-this.child.pid!, 'SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 20_000);
    await exited;
    clearTimeout(timer);
  }

  /** The audit records among the lines of stdout. */
  records(): Array<Record<string, any>> {
    return this.stdout
      .split('\n')
      .filter(l => l.startsWith('{') && l.includes('"isAuditLog":true'))
      .map(l => JSON.parse(l));
  }
}

describe('the packed packages in a fresh backend outside the repository, as the README installs them', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-packed-'));
  const project = path.join(work, 'my-portal-backend');
  const blocks = readmeBlocks();
  const file = (name: string) => {
    const block = blocks.find(b => b.info.split(/\s+/)[1] === name);
    if (!block) {
      throw new Error(`README: no code block for ${name}`);
    }
    return block.body;
  };
  const shellBlocks = blocks.filter(b => b.info === 'sh');
  let server: Server | undefined;
  let tarballs: Record<string, string> = {};
  let releaseBroker: (() => void) | undefined;
  let listener: Listener | undefined;
  let vhost = '';
  let port = 0;
  let base = '';
  const timings: Record<string, number> = {};

  async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      timings[name] = Math.round((Date.now() - started) / 1000);
    }
  }

  afterAll(async () => {
    await server?.stop();
    await listener?.stop();
    if (vhost) await deleteVhost(vhost);
    releaseBroker?.();
    // eslint-disable-next-line no-console
    console.log(`packed-install timings (s): ${JSON.stringify(timings)}`);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('is set up outside the repository, where nothing of the repository resolves', () => {
    expect(path.relative(ROOT, work).startsWith('..')).toBe(true);
    // Node looks for node_modules in every parent folder of the project.
    for (let dir = work; ; dir = path.dirname(dir)) {
      expect({
        dir,
        nodeModules: fs.existsSync(path.join(dir, 'node_modules')),
      }).toEqual({ dir, nodeModules: false });
      if (dir === path.dirname(dir)) break;
    }
    expect(userEnv().PATH).not.toContain(ROOT);
  });

  it('installs from the tarballs and the registry, and the backend starts', async () => {
    tarballs = await timed('build+pack', () =>
      packPlugins(work, [...PLUGIN_DIRS, ...MODULE_DIRS]),
    );
    expect(Object.keys(tarballs).sort()).toEqual(
      [...OUR_PACKAGES, CADF, S3].sort(),
    );

    fs.mkdirSync(project);
    const pkg = JSON.parse(file('package.json'));
    // The README's Backstage versions are the ones this repository verified.
    for (const [name, version] of Object.entries(
      pkg.dependencies as Record<string, string>,
    )) {
      if (name.startsWith('@backstage/')) {
        const installed = JSON.parse(
          fs.readFileSync(
            require.resolve(`${name}/package.json`, {
              paths: [path.join(ROOT, 'packages/backend')],
            }),
            'utf8',
          ),
        ).version;
        expect({ name, version }).toEqual({ name, version: installed });
      }
    }
    for (const name of OUR_PACKAGES) {
      if (name !== '@backstage-audit/plugin-audit-log-node') {
        expect(pkg.dependencies[name]).toBeDefined();
      }
      pkg.dependencies[name] = `file:${tarballs[name]}`;
    }
    fs.writeFileSync(
      path.join(project, 'package.json'),
      `${JSON.stringify(pkg, null, 2)}\n`,
    );
    for (const name of ['index.js', 'app-config.yaml', 'catalog-info.yaml']) {
      fs.writeFileSync(path.join(project, name), file(name));
    }

    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = userEnv({
      APP_CONFIG_backend_listen_port: String(port),
      APP_CONFIG_backend_baseUrl: base,
    });
    const lines = shellBlocks[0].body.trim().split('\n');
    expect(lines).toEqual(['npm install', 'npm start']);
    const install = await timed('npm install', () =>
      bash(lines[0], project, env),
    );
    expect({
      code: install.code,
      out: install.code ? install.out : '',
    }).toEqual({ code: 0, out: '' });

    // What was installed is the packed build, copied into the project.
    for (const name of OUR_PACKAGES) {
      const dir = path.join(project, 'node_modules', name);
      expect(fs.realpathSync(dir)).toBe(dir);
      const installed = JSON.parse(
        fs.readFileSync(path.join(dir, 'package.json'), 'utf8'),
      );
      expect(installed.main).toBe('dist/index.cjs.js');
      expect(installed.types).toBe('dist/index.d.ts');
      expect(fs.existsSync(path.join(dir, 'dist/index.d.ts'))).toBe(true);
      expect(fs.existsSync(path.join(dir, 'src'))).toBe(false);
    }
    const backendDir = path.join(
      project,
      'node_modules/@backstage-audit/plugin-audit-log-backend',
    );
    // The packages that read config ship its schema, compiled from config.d.ts.
    for (const name of [
      '@backstage-audit/plugin-audit-log-backend',
      '@backstage-audit/plugin-scaffolder-backend-module-audit-log',
    ]) {
      const dir = path.join(project, 'node_modules', name);
      const installed = JSON.parse(
        fs.readFileSync(path.join(dir, 'package.json'), 'utf8'),
      );
      expect({ name, configSchema: installed.configSchema }).toEqual({
        name,
        configSchema: 'config.schema.json',
      });
      const compiled = JSON.parse(
        fs.readFileSync(path.join(dir, 'config.schema.json'), 'utf8'),
      );
      expect(compiled.properties.auditLog.type).toBe('object');
    }
    expect(fs.readdirSync(path.join(backendDir, 'migrations'))).toEqual([
      expect.stringMatching(/^\d{14}_audit_events\.js$/),
    ]);
    // The testUtils subpath resolves through the package's exports, from the project.
    const resolved = await bash(
      `node -p "require.resolve('@backstage-audit/plugin-audit-log-node/testUtils')"`,
      project,
      env,
    );
    expect(resolved.out.trim()).toBe(
      path.join(
        project,
        'node_modules/@backstage-audit/plugin-audit-log-node/dist/testUtils.cjs.js',
      ),
    );

    const srv = new Server(lines[1], project, env);
    server = srv;
    await timed('start', () =>
      srv.waitFor('the guest sign-in', async () => {
        const res = await fetch(`${base}/api/auth/guest/refresh`, {
          method: 'POST',
        });
        return res.ok;
      }),
    );
    // Modules of the backend are the project's, never the repository's.
    expect(srv.stdout + srv.stderr).not.toContain(ROOT);
  }, 900_000);

  it("runs the README's try-it commands and gets the fetch's two records back from the store", async () => {
    const srv = server!;
    const token = await guestToken();
    await srv.waitFor('the catalog entity', async () => {
      const res = await fetch(
        `${base}/api/catalog/entities/by-name/component/default/hello-service`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      return res.ok;
    });
    const tryIt = shellBlocks[1].body.replaceAll(
      'localhost:7007',
      `127.0.0.1:${port}`,
    );
    const result = await bash(tryIt, project, userEnv());
    expect(result.code).toBe(0);
    const page = JSON.parse(result.out.trim().split('\n').pop()!);
    // The README's fetch is the last by-name fetch of the entity so far.
    const fetches = page.items.filter((r: any) =>
      r.actor.client?.startsWith('curl/'),
    );
    expect(fetches.map((r: any) => [r.stage, r.status])).toEqual([
      ['initiation', 'succeeded'],
      ['completion', 'succeeded'],
    ]);
    expect(fetches[1]).toMatchObject({
      isAuditLog: true,
      plugin: 'catalog',
      eventName: 'CatalogEntityFetchByName',
      actor: { actorId: 'user:development/guest' },
      meta: { entityRef: 'component:default/hello-service' },
      response: { status: 200 },
    });
    expect(fetches[0].auditId).toBe(fetches[1].auditId);
    // The same two records, as printed on stdout.
    const printed = srv.records().filter(r => r.auditId === fetches[0].auditId);
    expect(printed).toEqual(fetches.map(({ id: _id, ...r }: any) => r));
  }, 240_000);

  it('records catalog and scaffolder requests on stdout and in the store, secrets redacted', async () => {
    const srv = server!;
    const token = await guestToken();
    const auditIds: Record<string, string> = {};
    async function call(
      name: string,
      method: string,
      url: string,
      body?: unknown,
    ): Promise<Response> {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      await res.text();
      auditIds[name] = res.headers.get('audit-id') ?? '';
      return res;
    }

    expect(
      (await call('list', 'GET', '/api/catalog/entities?filter=kind=component'))
        .status,
    ).toBe(200);
    expect(
      (
        await call(
          'missing',
          'GET',
          '/api/catalog/entities/by-name/component/default/no-such-thing',
        )
      ).status,
    ).toBe(404);
    expect(
      (await call('actions', 'GET', '/api/scaffolder/v2/actions')).status,
    ).toBe(200);
    const dryRun = await call('dryRun', 'POST', '/api/scaffolder/v2/dry-run', {
      template: {
        apiVersion: 'scaffolder.backstage.io/v1beta3',
        kind: 'Template',
        metadata: { name: 'packed-dry-run' },
        spec: {
          owner: 'guests',
          type: 'service',
          parameters: [],
          steps: [
            {
              id: 'greet',
              name: 'Greet',
              action: 'debug:log',
              input: { message: 'key ${{ secrets.deployKey }}' },
            },
          ],
        },
      },
      values: {},
      secrets: { deployKey: CANARY },
      directoryContents: [],
    });
    expect(dryRun.status).toBe(200);

    const expected: Record<string, [string, string, number]> = {
      list: ['catalog', 'CatalogEntityFetch', 200],
      missing: ['catalog', 'CatalogEntityFetchByName', 404],
      actions: ['scaffolder', 'ScaffolderInstalledActionsFetch', 200],
      dryRun: ['scaffolder', 'ScaffolderTaskDryRun', 200],
    };
    for (const [name, [plugin, eventName, status]] of Object.entries(
      expected,
    )) {
      const printed = srv.records().filter(r => r.auditId === auditIds[name]);
      expect({
        name,
        records: printed.map(r => [r.plugin, r.eventName, r.stage, r.status]),
      }).toEqual({
        name,
        records: [
          [plugin, eventName, 'initiation', 'succeeded'],
          [
            plugin,
            eventName,
            'completion',
            status < 400 ? 'succeeded' : 'failed',
          ],
        ],
      });
      expect(printed[1].response.status).toBe(status);
      expect(printed[1].actor.actorId).toBe('user:development/guest');
      // The store holds the same records as stdout.
      const res = await fetch(
        `${base}/api/audit-log/events?auditId=${auditIds[name]}&order=asc`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      expect(res.status).toBe(200);
      const stored = ((await res.json()) as { items: any[] }).items;
      expect(stored.map(({ id: _id, ...r }) => r)).toEqual(printed);
    }
    const dryDone = srv
      .records()
      .find(r => r.auditId === auditIds.dryRun && r.stage === 'completion')!;
    expect(dryDone.request.body.secrets).toEqual({ deployKey: '***' });

    // The dry run's task lifecycle, linked to the request that made it.
    await srv.waitFor('the dry run lifecycle records', () =>
      srv
        .records()
        .some(
          r =>
            r.eventName === 'ScaffolderTaskExecution' &&
            r.stage === 'completion' &&
            r.meta?.creationAuditId === auditIds.dryRun,
        ),
    );
    const lifecycle = srv
      .records()
      .filter(r => r.meta?.creationAuditId === auditIds.dryRun)
      .map(r => [
        r.eventName,
        r.stage,
        r.meta?.stepId ?? '-',
        r.meta?.isDryLog,
      ]);
    expect(lifecycle).toEqual([
      ['ScaffolderTaskExecution', 'initiation', '-', true],
      ['ScaffolderTaskStepExecution', 'initiation', 'greet', true],
      ['ScaffolderTaskStepExecution', 'completion', 'greet', true],
      ['ScaffolderTaskExecution', 'completion', '-', true],
    ]);
    const step = srv
      .records()
      .find(
        r =>
          r.eventName === 'ScaffolderTaskStepExecution' &&
          r.meta?.creationAuditId === auditIds.dryRun,
      )!;
    expect(step.meta.stepInputs).toEqual({ message: 'key ***' });
    expect(srv.stdout + srv.stderr).not.toContain(CANARY);
    // Ordinary log lines go through auditRootLoggerServiceFactory: none passes for a record.
    expect(srv.stderr).not.toContain('isAuditLog');
  }, 240_000);

  it('refuses to start the scaffolder lifecycle on an unsupported scaffolder version, and starts with it switched off', async () => {
    await server!.stop();
    // A user on another scaffolder release than the supported one.
    const downgrade = await timed('install scaffolder 4.2.0', () =>
      bash(
        'npm install --no-save @backstage/plugin-scaffolder-backend@4.2.0',
        project,
        userEnv(),
      ),
    );
    expect({
      code: downgrade.code,
      out: downgrade.code ? downgrade.out : '',
    }).toEqual({ code: 0, out: '' });

    const env = userEnv({
      APP_CONFIG_backend_listen_port: String(port),
      APP_CONFIG_backend_baseUrl: base,
    });
    const refused = new Server('npm start', project, env);
    server = refused;
    const output = () => refused.stdout + refused.stderr;
    await refused.waitFor('the start-up failure', () =>
      output().includes('Backend startup failed'),
    );
    // The error spans several lines, from the summary on; let it all arrive.
    await new Promise(r => setTimeout(r, 2000));
    const failure = output().slice(output().indexOf('Backend startup failed'));
    expect(failure).toContain(
      "Module 'audit-log' for plugin 'scaffolder' startup failed",
    );
    expect(failure).toContain(
      '@backstage/plugin-scaffolder-backend 4.2.0 is installed',
    );
    expect(failure).toContain(
      'It supports @backstage/plugin-scaffolder-backend 4.3.0 only',
    );
    expect(failure).toContain('auditLog.scaffolder.taskLifecycle: false');
    await refused.stop();

    const switchedOff = new Server(
      'npm start',
      project,
      userEnv({
        APP_CONFIG_backend_listen_port: String(port),
        APP_CONFIG_backend_baseUrl: base,
        APP_CONFIG_auditLog_scaffolder_taskLifecycle: 'false',
      }),
    );
    server = switchedOff;
    let token = '';
    await switchedOff.waitFor('the guest sign-in', async () => {
      const res = await fetch(`${base}/api/auth/guest/refresh`, {
        method: 'POST',
      });
      if (res.ok) {
        token = ((await res.json()) as any).backstageIdentity.token;
      }
      return res.ok;
    });
    const res = await fetch(`${base}/api/scaffolder/v2/actions`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const auditId = res.headers.get('audit-id');
    // The scaffolder's HTTP records are still written.
    expect(
      switchedOff
        .records()
        .filter(r => r.auditId === auditId)
        .map(r => [r.eventName, r.stage]),
    ).toEqual([
      ['ScaffolderInstalledActionsFetch', 'initiation'],
      ['ScaffolderInstalledActionsFetch', 'completion'],
    ]);
    expect(switchedOff.stdout).not.toContain('Backend startup failed');
    expect(switchedOff.stdout).toContain(
      'Scaffolder task-lifecycle audit is disabled',
    );
  }, 300_000);

  it('installs the cadf and s3 tarballs as the READMEs say: a catalog request reaches a Swift container (read back with the installed backstage-audit-archive) and RabbitMQ as CADF notifications', async () => {
    await server!.stop();
    const id = runId();
    // As an adopter installs the optional modules: one npm install of the packages.
    const install = await timed('npm install cadf+s3', () =>
      bash(`npm install ${tarballs[CADF]} ${tarballs[S3]}`, project, userEnv()),
    );
    expect({
      code: install.code,
      out: install.code ? install.out : '',
    }).toEqual({ code: 0, out: '' });
    for (const name of [CADF, S3]) {
      const dir = path.join(project, 'node_modules', name);
      expect(fs.realpathSync(dir)).toBe(dir);
      expect(fs.existsSync(path.join(dir, 'dist/index.cjs.js'))).toBe(true);
      expect(fs.existsSync(path.join(dir, 'src'))).toBe(false);
      const resolved = await bash(
        `node -p "require.resolve('${name}')"`,
        project,
        userEnv(),
      );
      expect(resolved.out.trim()).toBe(path.join(dir, 'dist/index.cjs.js'));
    }
    // npm restored the scaffolder of the project's lock file (the test above installed 4.2.0 without saving).
    const scaffolder = JSON.parse(
      fs.readFileSync(
        path.join(
          project,
          'node_modules/@backstage/plugin-scaffolder-backend/package.json',
        ),
        'utf8',
      ),
    ).version;
    expect(scaffolder).toBe('4.3.0');

    // index.js: the modules' backend.add lines, from the README's sections.
    const s3Section = readmeBlocks(
      '### Object-storage archive (s3)',
      '### OpenStack (CADF on oslo.messaging)',
    );
    const cadfSection = readmeBlocks(
      '### OpenStack (CADF on oslo.messaging)',
      '## Packages',
    );
    const addLine = (section: Block[]) => {
      const block = section.find(
        b => b.info === 'ts' && b.body.includes('backend.add('),
      );
      if (!block) throw new Error('README: no backend.add block');
      return block.body;
    };
    const indexJs = path.join(project, 'index.js');
    const index = fs.readFileSync(indexJs, 'utf8');
    expect(index).toContain('\nbackend.start();');
    fs.writeFileSync(
      indexJs,
      index.replace(
        '\nbackend.start();',
        `\n${addLine(s3Section)}${addLine(cadfSection)}\nbackend.start();`,
      ),
    );

    // app-config.yaml: the README's sink examples, pointed at the local stores.
    const swift: SwiftSaio = await timed('swift', () =>
      startSwiftSaio('shared'),
    );
    const firstYaml = (section: Block[]) =>
      YAML.parse(section.find(b => b.info === 'yaml')!.body);
    const s3Config = firstYaml(s3Section).auditLog;
    const archive = s3Config.sinks.archive;
    expect(archive.type).toBe('s3');
    const archiveProject = `packed-${id}`;
    Object.assign(archive, {
      endpoint: swift.endpoint,
      region: swift.region,
      bucket: swift.bucket,
      project: archiveProject,
      spoolDir: path.join(work, 'audit-spool'),
      maxDelaySeconds: 2,
    });
    // The credentials stay the README's ${...} references, to the write-only user.
    expect(archive.accessKeyId).toBe('${AUDIT_ARCHIVE_ACCESS_KEY_ID}');
    const cadfConfig = firstYaml(cadfSection).auditLog;
    vhost = `packed-${id}`;
    const publisherId = `backstage.packed-${id}`;
    expect(cadfConfig.sinks.openstack.type).toBe('amqp');
    Object.assign(cadfConfig.sinks.openstack, {
      url: rabbitUrl(vhost),
      publisherId,
    });
    // The example's file sink and audit map file are other routes, with paths of the README's machine.
    delete cadfConfig.sinks.cadfFile;
    delete cadfConfig.formats.cadf.auditMapFile;
    const configFile = path.join(project, 'app-config.yaml');
    const appConfig = YAML.parse(fs.readFileSync(configFile, 'utf8'));
    appConfig.auditLog.sinks = {
      ...s3Config.sinks,
      ...cadfConfig.sinks,
    };
    appConfig.auditLog.formats = cadfConfig.formats;
    fs.writeFileSync(configFile, YAML.stringify(appConfig));

    releaseBroker = await timed('broker lock', () => acquireBrokerLock());
    await waitForBroker();
    await createVhost(vhost);
    listener = await startListener({ url: rabbitUrl(vhost) });

    const srv = new Server(
      'npm start',
      project,
      userEnv({
        APP_CONFIG_backend_listen_port: String(port),
        APP_CONFIG_backend_baseUrl: base,
        AUDIT_ARCHIVE_ACCESS_KEY_ID: swift.writer.accessKeyId,
        AUDIT_ARCHIVE_SECRET_ACCESS_KEY: swift.writer.secretAccessKey,
      }),
    );
    server = srv;
    const from = new Date(Date.now() - 60_000).toISOString();
    await timed('start with modules', () =>
      srv.waitFor('the guest sign-in', async () => {
        const res = await fetch(`${base}/api/auth/guest/refresh`, {
          method: 'POST',
        });
        return res.ok;
      }),
    );
    const token = await guestToken();
    let res: Response | undefined;
    await srv.waitFor('the catalog entity', async () => {
      res = await fetch(
        `${base}/api/catalog/entities/by-name/component/default/hello-service`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      return res.ok;
    });
    const auditId = res!.headers.get('audit-id')!;
    expect(auditId).toBeTruthy();
    await srv.waitFor('the two records on stdout', () =>
      srv
        .records()
        .some(r => r.auditId === auditId && r.stage === 'completion'),
    );
    const printed = srv.records().filter(r => r.auditId === auditId);
    expect(printed.map(r => [r.eventName, r.stage, r.status])).toEqual([
      ['CatalogEntityFetchByName', 'initiation', 'succeeded'],
      ['CatalogEntityFetchByName', 'completion', 'succeeded'],
    ]);

    // RabbitMQ: the request's two CADF events, as oslo.messaging's own listener receives them.
    const mine = () =>
      notificationsOf(listener!).filter(n =>
        n.payload.tags.includes(`correlation_id?value=${auditId}`),
      );
    await timed('cadf notifications', () =>
      listener!.waitFor(() => mine().length >= 2, 60_000, 'the notifications'),
    );
    expect(
      mine().map(n => [
        n.publisher_id,
        n.event_type,
        n.payload.outcome,
        n.cadf.valid,
      ]),
    ).toEqual([
      [publisherId, 'audit.http.request', 'pending', true],
      [publisherId, 'audit.http.response', 'success', true],
    ]);

    // Swift: the object, read back with the installed package's bin and the
    // reading account, as the s3 module's README fetches a window.
    const readmeFetch = s3Section.find(
      b => b.info === 'sh' && b.body.includes('backstage-audit-archive fetch'),
    )!.body;
    // The README's values replaced by this store's; the command as written otherwise.
    const fetchLine = readmeFetch
      .replace(
        'AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...',
        'AWS_ACCESS_KEY_ID="$READER_KEY_ID" AWS_SECRET_ACCESS_KEY="$READER_SECRET"',
      )
      .replace(/--endpoint \S+/, `--endpoint ${swift.endpoint}`)
      .replace(/--bucket \S+/, `--bucket ${swift.bucket}`)
      .replace(/--prefix \S+/, `--prefix ${archive.prefix}`)
      .replace(/--project \S+ --project \S+/, `--project ${archiveProject}`)
      .replace(
        /--from \S+ --to \S+/,
        `--from ${from} --to ${new Date(Date.now() + 60_000).toISOString()}`,
      );
    expect(fetchLine).toContain('> window.jsonl');
    // The README's command names no region: the store's is the default.
    expect(swift.region).toBe('us-east-1');
    const readerEnv = userEnv({
      READER_KEY_ID: swift.admin.accessKeyId,
      READER_SECRET: swift.admin.secretAccessKey,
    });
    let archived: Array<Record<string, any>> = [];
    let last = { code: null as number | null, out: '' };
    await timed('archive object', () =>
      srv.waitFor('the archived records', async () => {
        last = await bash(fetchLine, project, readerEnv);
        archived = fs
          .readFileSync(path.join(project, 'window.jsonl'), 'utf8')
          .split('\n')
          .filter(l => l.startsWith('{'))
          .map(l => JSON.parse(l))
          .filter(r => r.auditId === auditId);
        return last.code === 0 && archived.length >= 2;
      }),
    ).catch(error => {
      throw new Error(`${error}\nlast fetch: ${last.code}\n${last.out}`);
    });
    expect(last.out).toContain('backstage-audit-archive: ');
    expect(last.out).not.toContain(swift.admin.secretAccessKey);
    expect(archived).toEqual(printed);
    // The bin that ran is the project's, from the tarball.
    expect(
      fs.realpathSync(
        path.join(project, 'node_modules/.bin/backstage-audit-archive'),
      ),
    ).toBe(
      path.join(project, 'node_modules', S3, 'bin/backstage-audit-archive'),
    );

    // Nothing of the repository was loaded.
    expect(srv.stdout + srv.stderr + last.out).not.toContain(ROOT);
    expect(srv.stdout + srv.stderr).not.toContain(swift.writer.secretAccessKey);

    await server.stop();
    await listener!.stop();
    await deleteVhost(vhost);
    vhost = '';
    releaseBroker();
    releaseBroker = undefined;
  }, 600_000);

  async function guestToken(): Promise<string> {
    const res = await fetch(`${base}/api/auth/guest/refresh`, {
      method: 'POST',
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { backstageIdentity: { token: string } })
      .backstageIdentity.token;
  }
});
