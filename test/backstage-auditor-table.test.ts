/**
 * The backstage-auditor event table against both vocabularies it joins: every
 * event name of ours has a row, and every upstream row is one that the
 * installed upstream plugins really emit, read from their own code (every
 * `auditor.createEvent({...})` call in their dist), with its severity.
 */
import fs from 'node:fs';
import path from 'node:path';
import { catalogAuditRoutes } from '@backstage-audit/plugin-catalog-backend-module-audit-log';
import {
  scaffolderAuditRoutes,
  ScaffolderLifecycleEvents,
} from '@backstage-audit/plugin-scaffolder-backend-module-audit-log';
import { backstageAuditorEvents } from '../plugins/audit-log-backend/src/formats/backstageAuditorEvents';
import { auditLogAuditRoutes } from '../plugins/audit-log-backend/src/auditLogRoutes';
import { UNMAPPED_EVENT } from '../plugins/audit-log-backend/src/capture/HttpAuditExchange';

/** Our event names, by plugin, from the tables themselves. */
const ours: Array<[plugin: string, eventName: string]> = [
  ...[catalogAuditRoutes, scaffolderAuditRoutes, auditLogAuditRoutes].flatMap(
    table =>
      table.routes.map(r => [table.pluginId, r.eventName] as [string, string]),
  ),
  ...Object.values(ScaffolderLifecycleEvents).map(
    name => ['scaffolder', name] as [string, string],
  ),
  ['audit-log', 'AuditLogStarted'],
  ['audit-log', 'AuditLogStopped'],
  ['*', UNMAPPED_EVENT],
];

interface UpstreamEvent {
  plugin: string;
  eventId: string;
  discriminator: string;
  severityLevel: string;
  dryRunSeverityLevel?: string;
}

function distFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return distFiles(full);
    }
    return entry.name.endsWith('.cjs.js') ? [full] : [];
  });
}

/** The object literal that starts at `start` (a `{`), by brace count. */
function objectLiteral(source: string, start: number): string {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    if (source[i] === '{') depth++;
    if (source[i] === '}' && --depth === 0) {
      return source.slice(start, i + 1);
    }
  }
  throw new Error(`unbalanced createEvent call at ${start}`);
}

/** Every createEvent call of an installed upstream plugin. */
function upstreamEvents(pkg: string, plugin: string): UpstreamEvent[] {
  const dist = path.join(
    path.dirname(require.resolve(`${pkg}/package.json`)),
    'dist',
  );
  const events: UpstreamEvent[] = [];
  for (const file of distFiles(dist)) {
    const source = fs.readFileSync(file, 'utf8');
    for (const match of source.matchAll(/createEvent\(\{/g)) {
      const call = objectLiteral(source, match.index! + 'createEvent('.length);
      const eventId = /eventId:\s*"([^"]+)"/.exec(call)?.[1];
      if (!eventId) {
        throw new Error(
          `${file}: a createEvent call without a literal eventId`,
        );
      }
      const discriminator =
        /(?:queryType|actionType):\s*"([^"]+)"/.exec(call)?.[1] ?? '';
      const fixed = /severityLevel:\s*"([^"]+)"/.exec(call)?.[1];
      const dry =
        /severityLevel:\s*dryRun\s*\?\s*"([^"]+)"\s*:\s*"([^"]+)"/.exec(call);
      if (!fixed && !dry && /severityLevel/.test(call)) {
        throw new Error(`${file}: a severityLevel this test cannot read`);
      }
      events.push({
        plugin,
        eventId,
        discriminator,
        // DefaultAuditorService's default when a caller names none.
        severityLevel: dry?.[2] ?? fixed ?? 'low',
        dryRunSeverityLevel: dry?.[1],
      });
    }
  }
  return events;
}

const key = (e: { plugin: string; eventId: string; discriminator: string }) =>
  `${e.plugin} ${e.eventId} ${e.discriminator}`;

describe('backstage-auditor event table', () => {
  it('has a row for every event name of every route table, the lifecycle and the audit log itself', () => {
    const missing = ours.filter(
      ([, name]) => !(name in backstageAuditorEvents),
    );
    expect(missing).toEqual([]);
    for (const [plugin, name] of ours) {
      expect([name, backstageAuditorEvents[name].plugin]).toEqual([
        name,
        plugin,
      ]);
    }
  });

  it('has no row for an event name we do not have', () => {
    const names = new Set(ours.map(([, name]) => name));
    expect(
      Object.keys(backstageAuditorEvents).filter(name => !names.has(name)),
    ).toEqual([]);
  });

  it("names exactly the events the installed catalog and scaffolder emit, with upstream's severities", () => {
    const upstream = [
      ...upstreamEvents('@backstage/plugin-catalog-backend', 'catalog'),
      ...upstreamEvents('@backstage/plugin-scaffolder-backend', 'scaffolder'),
    ];
    // The dist was read: catalog 4.x has 20 calls, scaffolder 4.2 has 12.
    expect(upstream.length).toBeGreaterThanOrEqual(30);

    const fromDist = new Map(upstream.map(e => [key(e), e]));
    const fromTable = new Map(
      Object.entries(backstageAuditorEvents)
        .filter(([, row]) => row.origin === 'upstream')
        .map(([name, row]) => {
          const e = {
            name,
            plugin: row.plugin,
            eventId: row.eventId,
            discriminator: row.actionType ?? row.queryType ?? '',
            severityLevel: row.severityLevel,
            dryRunSeverityLevel: row.dryRunSeverityLevel,
          };
          return [key(e), e];
        }),
    );
    // Every upstream event is covered, and every upstream row exists upstream.
    expect([...fromTable.keys()].sort()).toEqual([...fromDist.keys()].sort());
    for (const [k, e] of fromTable) {
      const u = fromDist.get(k)!;
      expect([k, e.severityLevel]).toEqual([k, u.severityLevel]);
      if (u.dryRunSeverityLevel) {
        expect([k, e.dryRunSeverityLevel]).toEqual([k, u.dryRunSeverityLevel]);
      }
    }
  });

  it('gives events upstream lacks ids of ours that no upstream event uses', () => {
    const upstreamIds = new Set(
      Object.values(backstageAuditorEvents)
        .filter(row => row.origin === 'upstream')
        .map(row => `${row.plugin} ${row.eventId}`),
    );
    for (const [name, row] of Object.entries(backstageAuditorEvents)) {
      if (row.origin === 'ours') {
        expect([name, upstreamIds.has(`${row.plugin} ${row.eventId}`)]).toEqual(
          [name, false],
        );
      }
    }
  });
});
