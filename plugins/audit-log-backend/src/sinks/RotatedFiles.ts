import fs from 'node:fs';
import path from 'node:path';

/**
 * One rotation of the live file, as the directory holds it: `stem` is
 * `<file>.<UTC time of rotation>-<sequence>`, e.g.
 * `audit.log.2026-01-05T10-15-30.123Z-000000`. A rotation exists as the
 * plain file, its `.gz`, or both for a moment while it is compressed;
 * `.gz.tmp` is a compression in progress (or one a crash interrupted).
 */
export interface Rotation {
  stem: string;
  plain: boolean;
  gz: boolean;
  gzTmp: boolean;
}

/** `2026-01-05T10-15-30.123Z`: ISO 8601 in UTC, fixed width, no colons (not allowed in every file system). */
function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

function msOf(stamp: string): number {
  return Date.parse(
    `${stamp.slice(0, 10)}${stamp.slice(10).replace(/-/g, ':')}`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Code-unit order, as `ls` sorts in the C locale (not localeCompare). */
function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/**
 * The rotated files of one live file, named so that sorting the names (as
 * `ls` does) sorts them by rotation: a fixed-width UTC time, then a
 * sequence for rotations within one millisecond or after the clock went
 * back. Everything is derived from the directory itself, never from a
 * tracking file, so `keep` holds across restarts and crashes.
 */
export class RotatedFiles {
  readonly dir: string;
  readonly #base: string;
  readonly #pattern: RegExp;
  #lastStamp = '';
  #lastSeq = -1;

  static create(livePath: string): RotatedFiles {
    return new RotatedFiles(livePath);
  }

  private constructor(livePath: string) {
    this.dir = path.dirname(livePath);
    this.#base = path.basename(livePath);
    this.#pattern = new RegExp(
      `^(${escapeRegExp(this.#base)}\\.(\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}\\.\\d{3}Z)-(\\d{6}))(\\.gz(\\.tmp)?)?$`,
    );
  }

  /** The rotations in the directory, oldest first. */
  list(): Rotation[] {
    return this.#group(fs.readdirSync(this.dir));
  }

  /** As {@link RotatedFiles.list}, without blocking the event loop. */
  async listAsync(): Promise<Rotation[]> {
    return this.#group(await fs.promises.readdir(this.dir));
  }

  #group(names: string[]): Rotation[] {
    const byStem = new Map<string, Rotation>();
    for (const name of names) {
      const match = this.#pattern.exec(name);
      if (!match) {
        continue;
      }
      const [, stem, stamp, seq, gz, tmp] = match;
      let rotation = byStem.get(stem);
      if (!rotation) {
        rotation = { stem, plain: false, gz: false, gzTmp: false };
        byStem.set(stem, rotation);
      }
      if (tmp) {
        rotation.gzTmp = true;
      } else if (gz) {
        rotation.gz = true;
      } else {
        rotation.plain = true;
      }
      this.#seen(stamp, Number(seq));
    }
    return [...byStem.values()].sort((a, b) => compareStrings(a.stem, b.stem));
  }

  #seen(stamp: string, seq: number): void {
    if (
      stamp > this.#lastStamp ||
      (stamp === this.#lastStamp && seq > this.#lastSeq)
    ) {
      this.#lastStamp = stamp;
      this.#lastSeq = seq;
    }
  }

  /**
   * The path for the next rotation: later in sort order than every rotation
   * seen so far, whatever the clock says, and not taken.
   */
  next(now: number): string {
    const stamp = stampOf(now);
    for (;;) {
      if (stamp > this.#lastStamp) {
        this.#lastStamp = stamp;
        this.#lastSeq = 0;
      } else if (this.#lastSeq < 999_999) {
        this.#lastSeq++;
      } else {
        // Only a clock far behind the directory gets here: step past it.
        this.#lastStamp = stampOf(msOf(this.#lastStamp) + 1);
        this.#lastSeq = 0;
      }
      const file = this.pathOf(this.#stem(this.#lastStamp, this.#lastSeq));
      if (!fs.existsSync(file) && !fs.existsSync(`${file}.gz`)) {
        return file;
      }
    }
  }

  #stem(stamp: string, seq: number): string {
    return `${this.#base}.${stamp}-${String(seq).padStart(6, '0')}`;
  }

  pathOf(name: string): string {
    return path.join(this.dir, name);
  }
}
