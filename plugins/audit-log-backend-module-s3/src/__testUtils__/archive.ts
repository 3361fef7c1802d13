import {
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  AuditRecord,
  AuditSinkEntry,
} from '@backstage-audit/plugin-audit-log-node';
import { gunzipSync } from 'node:zlib';

/** Every object under `prefix`, in key order, read back with read credentials. */
export async function readArchive(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<Array<{ key: string; lines: string[] }>> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
      }),
    );
    keys.push(...(page.Contents ?? []).map(o => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  const objects = [];
  for (const key of keys.sort()) {
    const res = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
    );
    const text = gunzipSync(await res.Body!.transformToByteArray()).toString(
      'utf8',
    );
    objects.push({ key, lines: text.split('\n').filter(l => l !== '') });
  }
  return objects;
}

/** Polls `readArchive` until `done` holds or `timeoutMs` passes; returns the last read. */
export async function waitForArchive(
  client: S3Client,
  bucket: string,
  prefix: string,
  done: (objects: Array<{ key: string; lines: string[] }>) => boolean,
  timeoutMs: number,
): Promise<Array<{ key: string; lines: string[] }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const objects = await readArchive(client, bucket, prefix);
    if (done(objects) || Date.now() > deadline) return objects;
    await new Promise(r => setTimeout(r, 100));
  }
}

/** A sink entry for record `n`: its line is the record's JSON, `padTo` bytes long (with its line break) when given. */
export function auditEntry(
  n: number,
  options: { timestamp?: string; padTo?: number; project?: string } = {},
): AuditSinkEntry {
  const record: AuditRecord = {
    level: 'info',
    message: `record ${n}`,
    isAuditLog: true,
    schemaVersion: '1',
    timestamp: options.timestamp ?? new Date().toISOString(),
    auditId: `audit-${n}`,
    plugin: 'catalog',
    eventName: 'CatalogEntityFetch',
    stage: 'completion',
    status: 'succeeded',
    actor: { actorId: 'user:default/alice' },
    meta: { n, project: options.project, pad: '' },
  };
  let line = JSON.stringify(record);
  if (options.padTo !== undefined) {
    const missing = options.padTo - 1 - Buffer.byteLength(line);
    if (missing < 0)
      throw new Error(`record ${n} is longer than ${options.padTo}`);
    record.meta!.pad = 'x'.repeat(missing);
    line = JSON.stringify(record);
  }
  return { record, line };
}
