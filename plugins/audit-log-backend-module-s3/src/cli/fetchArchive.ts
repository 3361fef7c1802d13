import {
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import {
  hourPrefix,
  hourStart,
  ONE_HOUR_MS,
  parseObjectName,
} from '../objectKeys';

const gunzip = promisify(zlib.gunzip);

/** What {@link fetchArchive} reads and where its lines go. */
export interface FetchArchiveOptions {
  /** A client with read credentials (s3:ListBucket and s3:GetObject on the prefix). */
  client: S3Client;
  bucket: string;
  /** Without leading or trailing slashes; '' for none. */
  prefix: string;
  projects: readonly string[];
  /** Window start (inclusive), ms since the epoch. */
  fromMs: number;
  /** Window end (exclusive), ms since the epoch. */
  toMs: number;
  /**
   * How many hour partitions before `from` are read too: an object lives in
   * the hour of its earliest record, so records just after `from` can sit in
   * an object of the previous hour. 1 covers every `maxDelaySeconds` (at most
   * 3600).
   */
  lookbackHours: number;
  /** Where a line's record time is, tried in order (dot paths): `timestamp` (rhdh), `eventTime` (CADF). */
  timeFields: readonly string[];
  write(line: string): void | Promise<void>;
  warn(message: string): void;
}

interface Item {
  timeMs: number;
  project: number;
  key: string;
  index: number;
  line: string;
}

function recordTime(
  line: string,
  fields: readonly string[],
): number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  for (const field of fields) {
    let v: unknown = value;
    for (const part of field.split('.')) {
      v =
        v && typeof v === 'object'
          ? (v as Record<string, unknown>)[part]
          : undefined;
    }
    if (typeof v === 'string') {
      const ms = Date.parse(v);
      if (Number.isFinite(ms)) return ms;
    } else if (typeof v === 'number' && Number.isFinite(v)) {
      return v;
    }
  }
  return undefined;
}

/** Code-unit order of two strings (not localeCompare: names sort as `ls` does). */
function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

const byTime = (a: Item, b: Item) =>
  a.timeMs - b.timeMs ||
  a.project - b.project ||
  compareStrings(a.key, b.key) ||
  a.index - b.index;

/**
 * Writes the records of `projects` whose time is in [from, to) as one
 * JSON-lines stream ordered by record time (ties: project order, key,
 * position in the object). Lists only the hour partitions the window needs
 * (plus the lookback), and holds in memory only about one hour of records
 * at a time.
 */
export async function fetchArchive(
  options: FetchArchiveOptions,
): Promise<{ records: number; objects: number; untimed: number }> {
  const { client, bucket, fromMs, toMs } = options;
  const firstHour = hourStart(fromMs);
  const lastHour = hourStart(toMs - 1);
  const buckets = new Map<number, Item[]>();
  let objects = 0;
  let untimed = 0;
  let records = 0;
  let emittedThrough = -Infinity;

  const loadPartition = async (hour: number) => {
    for (const [project, name] of options.projects.entries()) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: hourPrefix({ prefix: options.prefix, project: name }, hour),
            ContinuationToken: token,
          }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key && parseObjectName(o.Key)) keys.push(o.Key);
        }
        token = page.NextContinuationToken;
      } while (token);
      // A few downloads at a time; order is restored by the sort.
      for (let i = 0; i < keys.length; i += 4) {
        const bodies = await Promise.all(
          keys.slice(i, i + 4).map(async key => {
            const res = await client.send(
              new GetObjectCommand({ Bucket: bucket, Key: key }),
            );
            const bytes = await res.Body!.transformToByteArray();
            return { key, text: (await gunzip(bytes)).toString('utf8') };
          }),
        );
        for (const { key, text } of bodies) {
          objects += 1;
          for (const [index, line] of text.split('\n').entries()) {
            if (line === '') continue;
            const timeMs = recordTime(line, options.timeFields);
            if (timeMs === undefined) {
              untimed += 1;
              continue;
            }
            if (timeMs < fromMs || timeMs >= toMs) continue;
            const h = hourStart(timeMs);
            if (h <= emittedThrough) {
              // Cannot happen for objects this package wrote (a partition is
              // its earliest record's hour); say so rather than reorder.
              options.warn(
                `${key}: a record of ${new Date(timeMs).toISOString()} found after its hour was written; it is written late`,
              );
            }
            const list = buckets.get(h) ?? [];
            list.push({ timeMs, project, key, index, line });
            buckets.set(h, list);
          }
        }
      }
    }
  };

  for (
    let h = firstHour - options.lookbackHours * ONE_HOUR_MS;
    h < firstHour;
    h += ONE_HOUR_MS
  ) {
    await loadPartition(h);
  }
  for (let h = firstHour; h <= lastHour; h += ONE_HOUR_MS) {
    await loadPartition(h);
    for (const [bucketHour, items] of [...buckets].sort(
      (a, b) => a[0] - b[0],
    )) {
      if (bucketHour > h) break;
      items.sort(byTime);
      for (const item of items) await options.write(item.line);
      records += items.length;
      buckets.delete(bucketHour);
    }
    emittedThrough = h;
  }
  if (untimed > 0) {
    options.warn(
      `${untimed} lines had no record time in ${options.timeFields.join(' or ')} and were left out (see --time-field)`,
    );
  }
  return { records, objects, untimed };
}
