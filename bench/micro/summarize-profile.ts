/**
 * Prints the heaviest functions of a V8 .cpuprofile by self time and by
 * inclusive time:  node --import tsx bench/micro/summarize-profile.ts file.cpuprofile [top]
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 30);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) {
      parent.set(c, n.id);
    }
  }
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url)}:${
      n.callFrame.lineNumber + 1
    }`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  // Idle time (the process waiting) is not what a profile is read for.
  const busy = profile.samples.filter(
    id => byId.get(id)!.callFrame.functionName !== '(idle)',
  );
  for (const id of busy) {
    const leaf = byId.get(id)!;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (
      let cur: number | undefined = id;
      cur !== undefined;
      cur = parent.get(cur)
    ) {
      const l = label(byId.get(cur)!);
      if (!seen.has(l)) {
        seen.add(l);
        total.set(l, (total.get(l) ?? 0) + 1);
      }
    }
  }
  const n = busy.length;
  const print = (title: string, m: Map<string, number>) => {
    process.stdout.write(`\n${title} (${n} busy samples)\n`);
    for (const [l, c] of [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)) {
      process.stdout.write(
        `${((c / n) * 100).toFixed(1).padStart(6)}%  ${l}\n`,
      );
    }
  };
  print('self', self);
  print('inclusive', total);
}

main();
