/** Small statistics and formatting helpers shared by the benchmarks. */

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Linear-interpolated percentile (p in 0..100) of an unsorted list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function round(value: number, digits = 0): number {
  if (!Number.isFinite(value)) {
    return value;
  }
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** 0.6543 -> "65.4%" */
export function pct(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio)
    ? '-'
    : `${(ratio * 100).toFixed(1)}%`;
}

/** 123456 -> "123,456" */
export function num(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value)
    ? '-'
    : value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Renders rows as a fixed-width text table. `align` has one letter per
 * column ('l' or 'r'); by default the first column is left-aligned and the
 * others right-aligned.
 */
export function table(
  headers: string[],
  rows: string[][],
  align?: string,
): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)),
  );
  const left = (i: number) => (align ? align[i] === 'l' : i === 0);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [
    line(headers),
    widths.map(w => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
