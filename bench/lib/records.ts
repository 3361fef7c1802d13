import type {
  AuditEventInput,
  AuditRecord,
} from '../../plugins/audit-log-node/src';
import { benchPipeline } from './pipeline';
import { LineCollector } from './SyncFileStream';

/** Catalog and scaffolder events, roughly in the mix a portal produces. */
export const EVENTS: { plugin: string; eventName: string }[] = [
  { plugin: 'catalog', eventName: 'CatalogEntityFetch' },
  { plugin: 'catalog', eventName: 'CatalogEntityFetchByName' },
  { plugin: 'catalog', eventName: 'CatalogEntityFetchByUid' },
  { plugin: 'catalog', eventName: 'QueriedCatalogEntityFetch' },
  { plugin: 'catalog', eventName: 'CatalogEntityBatchFetch' },
  { plugin: 'catalog', eventName: 'CatalogEntityFacetFetch' },
  { plugin: 'catalog', eventName: 'CatalogEntityAncestryFetch' },
  { plugin: 'catalog', eventName: 'CatalogLocationFetch' },
  { plugin: 'catalog', eventName: 'CatalogEntityRefresh' },
  { plugin: 'scaffolder', eventName: 'ScaffolderTaskCreation' },
  { plugin: 'scaffolder', eventName: 'ScaffolderTaskFetch' },
  { plugin: 'scaffolder', eventName: 'ScaffolderTaskDryRun' },
];
export const ACTORS = 1000;

export interface RecordAndLine {
  record: AuditRecord;
  line: string;
}

/**
 * Builds `count` real records (through the pipeline, redacted and
 * serialized), varied in event, actor and entity like a portal's trail.
 */
export async function buildRecords(count: number): Promise<RecordAndLine[]> {
  const out: RecordAndLine[] = [];
  const collector = new LineCollector();
  const { pipeline: service } = await benchPipeline({ stdout: collector });
  for (let i = 0; i < count; i++) {
    const { plugin, eventName } = EVENTS[(i * 7919) % EVENTS.length];
    const name = `component-${String((i * 31) % 3000).padStart(5, '0')}`;
    const event: AuditEventInput = {
      plugin,
      eventName,
      stage: i % 2 === 0 ? 'initiation' : 'completion',
      status: i % 50 === 0 ? 'failed' : 'succeeded',
      actor: {
        actorId: `user:default/user-${(i * 104729) % ACTORS}`,
        ip: '::ffff:10.128.4.17',
        hostname: '::ffff:10.128.4.17',
        client:
          'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
      },
      meta:
        plugin === 'scaffolder'
          ? { taskId: `task-${i}`, templateRef: 'template:default/hello-audit' }
          : { entityRef: `component:default/${name}` },
      request: {
        method: 'GET',
        url: `/api/${plugin}/entities/by-name/component/default/${name}?fields=kind,metadata.name,metadata.namespace,metadata.title,spec.type,spec.owner`,
        query: {
          fields:
            'kind,metadata.name,metadata.namespace,metadata.title,spec.type,spec.owner',
        },
        params: { kind: 'component', namespace: 'default', name },
      },
      response: i % 2 === 0 ? undefined : { status: i % 50 === 0 ? 500 : 200 },
    };
    service.emit(event);
  }
  // The rhdh line is the record, serialized.
  for (const line of collector.lines) {
    out.push({ record: JSON.parse(line) as AuditRecord, line });
  }
  return out;
}
