/**
 * The object key layout, shared by the writer and the fetch command:
 *
 * `<prefix>/<project>/<yyyy>/<mm>/<dd>/<hh>/<instance>-<first>-<last>.jsonl.gz`
 *
 * The time partition is the UTC hour of the batch's earliest record
 * timestamp; `first` and `last` are the instance's sequence numbers of the
 * batch's first and last record, zero-padded to {@link SEQUENCE_DIGITS}
 * digits so that keys sort in write order.
 */

/** Width of the sequence numbers in keys. */
export const SEQUENCE_DIGITS = 16;

const HOUR_MS = 3_600_000;

/** Characters allowed in `project` and `instance`, and in each `prefix` segment. */
export const KEY_SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;

/** Where a batch goes, without its sequence numbers. */
export interface ObjectKeyScope {
  /** Without leading or trailing slashes; empty for none. */
  prefix: string;
  project: string;
  instance: string;
}

/** `<prefix>/<project>/<yyyy>/<mm>/<dd>/<hh>/`, the listing prefix of one hour. */
export function hourPrefix(
  scope: { prefix: string; project: string },
  hourStartMs: number,
): string {
  const d = new Date(hourStartMs);
  const two = (n: number) => String(n).padStart(2, '0');
  const parts = [
    scope.prefix,
    scope.project,
    String(d.getUTCFullYear()).padStart(4, '0'),
    two(d.getUTCMonth() + 1),
    two(d.getUTCDate()),
    two(d.getUTCHours()),
  ].filter(p => p !== '');
  return `${parts.join('/')}/`;
}

/** The start of the UTC hour that holds `timeMs`. */
export function hourStart(timeMs: number): number {
  return Math.floor(timeMs / HOUR_MS) * HOUR_MS;
}

/** One hour, in milliseconds. */
export const ONE_HOUR_MS = HOUR_MS;

/** The object key of a sealed batch. */
export function objectKey(
  scope: ObjectKeyScope,
  batch: { earliestMs: number; first: number; last: number },
): string {
  const seq = (n: number) => String(n).padStart(SEQUENCE_DIGITS, '0');
  return `${hourPrefix(scope, hourStart(batch.earliestMs))}${
    scope.instance
  }-${seq(batch.first)}-${seq(batch.last)}.jsonl.gz`;
}

const KEY_TAIL = new RegExp(
  `^(.+)-(\\d{${SEQUENCE_DIGITS}})-(\\d{${SEQUENCE_DIGITS}})\\.jsonl\\.gz$`,
);

/** Instance and sequence numbers of a key's last segment, or undefined if it is not one of ours. */
export function parseObjectName(
  name: string,
): { instance: string; first: number; last: number } | undefined {
  const m = KEY_TAIL.exec(name.slice(name.lastIndexOf('/') + 1));
  if (!m) return undefined;
  return { instance: m[1], first: Number(m[2]), last: Number(m[3]) };
}
