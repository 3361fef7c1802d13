/**
 * Builds the plugin packages and packs the given ones (by default the four
 * core packages) into tarballs, the way
 * `npm run build` and `npm pack -w plugins` do, without rewriting anything
 * inside the repository.
 *
 * `npm pack -w plugins` runs `backstage-cli package prepack` in place: it
 * rewrites each package.json (entry points to dist) until postpack restores
 * it. Other test files running at the same time resolve the workspace
 * packages through those package.json files, so the pack here runs the same
 * prepack step (`productionPack`, which `backstage-cli build-workspace` uses
 * too) with a target folder outside the repository, then `npm pack` there.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = path.resolve(__dirname, '../..');
export const PLUGIN_DIRS = [
  'audit-log-node',
  'audit-log-backend',
  'catalog-backend-module-audit-log',
  'scaffolder-backend-module-audit-log',
];
/** The optional modules: CADF with its amqp sink, and the s3 archive. */
export const MODULE_DIRS = [
  'audit-log-backend-module-cadf',
  'audit-log-backend-module-s3',
];

interface ProductionPack {
  productionPack(options: {
    packageDir: string;
    targetDir?: string;
    featureDetectionProject?: unknown;
  }): Promise<void>;
}
interface TypeDistProject {
  createTypeDistProject(): Promise<unknown>;
}

/** Package name -> tarball path, for each package of `dirs` (folders in plugins/). */
export async function packPlugins(
  workDir: string,
  dirs: readonly string[] = PLUGIN_DIRS,
): Promise<Record<string, string>> {
  await run('npm', ['run', 'build'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  // The CLI's own prepack implementation (not exported: the CLI's command
  // modules are its public surface, and `package prepack` has no target option).
  const cliBuild = path.dirname(
    require.resolve('@backstage/cli-module-build/package.json'),
  );
  const { productionPack } = require(
    path.join(cliBuild, 'dist/lib/packager/productionPack.cjs.js'),
  ) as ProductionPack;
  const { createTypeDistProject } = require(
    path.join(cliBuild, 'dist/lib/typeDistProject.cjs.js'),
  ) as TypeDistProject;
  const featureDetectionProject = await createTypeDistProject();

  const packs = path.join(workDir, 'packs');
  fs.mkdirSync(packs, { recursive: true });
  const tarballs: Record<string, string> = {};
  for (const dir of dirs) {
    const packageDir = path.join(ROOT, 'plugins', dir);
    const staged = path.join(workDir, 'stage', dir);
    await productionPack({
      packageDir,
      targetDir: staged,
      featureDetectionProject,
    });
    // The staged package.json still names the prepack script; it already ran.
    const { stdout } = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', packs],
      { cwd: staged },
    );
    const [info] = JSON.parse(stdout) as Array<{
      name: string;
      filename: string;
    }>;
    tarballs[info.name] = path.join(packs, info.filename);
  }
  return tarballs;
}
