/** Appended to a string cut at the configured length (upstream's marker). */
export const TRUNCATION_SUFFIX = '...<truncated>';

/**
 * A copy of `value` with every string longer than `maxLength` cut, at any
 * depth. `-1` returns the value itself. Only plain JSON-like data is expected
 * (task parameters, rendered inputs); other objects are copied by their own
 * enumerable keys, and the audit log's redactor handles cycles and depth.
 */
export function truncateLongStrings(
  value: unknown,
  maxLength: number,
): unknown {
  if (maxLength < 0) {
    return value;
  }
  const seen = new Set<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.length > maxLength
        ? `${v.slice(0, maxLength)}${TRUNCATION_SUFFIX}`
        : v;
    }
    if (!v || typeof v !== 'object' || seen.has(v)) {
      return v;
    }
    seen.add(v);
    try {
      if (Array.isArray(v)) {
        return v.map(walk);
      }
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        out[k] = walk(item);
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };
  return walk(value);
}
