import fs from 'node:fs';
import path from 'node:path';

/** Writes a catalog file of `count` Components (plus their owner Groups and Systems). */
export function writeCatalog(dir: string, count: number): string {
  const docs: string[] = [];
  const teams = 30;
  const systems = 60;
  for (let t = 0; t < teams; t++) {
    docs.push(`apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-${t}
spec:
  type: team
  children: []
`);
  }
  for (let s = 0; s < systems; s++) {
    docs.push(`apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: system-${s}
spec:
  owner: group:default/team-${s % teams}
`);
  }
  for (let i = 0; i < count; i++) {
    const name = componentName(i);
    docs.push(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  title: Service ${i}
  description: Generated component ${i} for the audit log benchmark
  tags: [bench, tier-${i % 3}]
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: ${i % 4 === 0 ? 'website' : 'service'}
  lifecycle: ${i % 5 === 0 ? 'experimental' : 'production'}
  owner: group:default/team-${i % teams}
  system: system-${i % systems}
`);
  }
  const file = path.join(dir, 'catalog-info.yaml');
  fs.writeFileSync(file, docs.join('---\n'));
  return file;
}

export function componentName(i: number): string {
  return `component-${String(i).padStart(5, '0')}`;
}
