import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let seq = 0;

// Random tails come from a pool refilled 512 ids at a time: one
// randomBytes(8) call per record cost ~4% of a busy backend's CPU.
const TAIL_BYTES = 8;
const pool = Buffer.alloc(TAIL_BYTES * 512);
let poolOffset = pool.length;

function randomTail(): string {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += TAIL_BYTES;
  pool[start] = (pool[start] & 0x3f) | 0x80; // RFC 9562 variant
  return pool.toString('hex', start, start + TAIL_BYTES);
}

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
  const tail = randomTail();
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${seq
    .toString(16)
    .padStart(3, '0')}-${tail.slice(0, 4)}-${tail.slice(4, 16)}`;
}
