/**
 * How much of a live backend's CPU profile is the audit log's own work:
 *
 *   node --import tsx bench/e2e/attribute.ts <file>.cpuprofile
 *
 * (a profile from e2e/profile.ts). A sample counts as ours when, walking up
 * from the leaf, the first frame outside Node's internals and native code is
 * one of the audit-log packages' (so JSON.stringify or a write system call
 * made by our code is ours, and everything the plugin's handler does under
 * our capture middleware is not). Samples whose first such frame is one of
 * the response hooks' pass-throughs (`res.end`/`res.json` of the response
 * itself) count as the response's, not ours. GC and V8's "(program)" are
 * reported apart: they belong to no frame.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

const OURS =
  /plugins\/(audit-log[^/]*|catalog-backend-module-audit-log|scaffolder-backend-module-audit-log)\//;
const PASS_THROUGH = /^(endThrough|auditedEnd|auditedJson|ownEnd|ownJson)$/;
/** The redacting root logger runs whatever `auditLog.enabled` says: OFF pays it too. */
const ROOT_LOGGER = /auditRootLoggerServiceFactory/;

const isOurs = (url: string) =>
  OURS.test(url) && !url.includes('/node_modules/');

function main(): void {
  const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
  };
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const counts = {
    busy: 0,
    gc: 0,
    program: 0,
    ours: 0,
    response: 0,
    rootLogger: 0,
  };
  const ours = new Map<string, number>();
  for (const id of profile.samples) {
    const leaf = byId.get(id)!.callFrame.functionName;
    if (leaf === '(idle)') continue;
    counts.busy++;
    if (leaf === '(garbage collector)') {
      counts.gc++;
      continue;
    }
    if (leaf === '(program)') {
      counts.program++;
      continue;
    }
    for (let cur: number | undefined = id; cur !== undefined;) {
      const node: ProfileNode = byId.get(cur)!;
      const { functionName, url } = node.callFrame;
      if (!url || url.startsWith('node:')) {
        cur = parent.get(node.id);
        continue;
      }
      if (isOurs(url)) {
        if (ROOT_LOGGER.test(url)) {
          counts.rootLogger++;
        } else if (cur !== id && PASS_THROUGH.test(functionName)) {
          counts.response++;
        } else {
          counts.ours++;
          const key = `${functionName || '(anonymous)'} ${path.basename(url)}`;
          ours.set(key, (ours.get(key) ?? 0) + 1);
        }
      }
      break;
    }
  }
  const pct = (n: number) => `${((n / counts.busy) * 100).toFixed(2)}%`;
  process.stdout.write(
    `busy samples ${counts.busy}: ours ${pct(counts.ours)}, GC ${pct(counts.gc)}, (program) ${pct(
      counts.program,
    )}, response under our hooks ${pct(counts.response)}, redacting root logger (OFF too) ${pct(
      counts.rootLogger,
    )}\n`,
  );
  for (const [key, n] of [...ours].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    process.stdout.write(`${pct(n).padStart(7)}  ${key}\n`);
  }
}

main();
