import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;

/**
 * A UUIDv7-shaped row id: 48 bits of milliseconds, a 12-bit counter that
 * increases within a millisecond, then random bits. Ids of one process sort
 * in the order records were written, so records with equal timestamps (an
 * initiation and its completion often share one) keep their order in the
 * store's `(ts_ms, id)` pagination; the random tail keeps replicas apart.
 */
export function orderedId(now = Date.now()): string {
  if (now <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      // More than 4096 ids in one millisecond: borrow the next one.
      lastMs++;
      seq = 0;
    }
  } else {
    lastMs = now;
    seq = 0;
  }
  const ms = lastMs.toString(16).padStart(12, '0');
  const rand = randomBytes(8);
  rand[0] = (rand[0] & 0x3f) | 0x80; // RFC 9562 variant
  const tail = rand.toString('hex');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${seq
    .toString(16)
    .padStart(3, '0')}-${tail.slice(0, 4)}-${tail.slice(4, 16)}`;
}
