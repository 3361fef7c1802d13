/** Deeper than any redacted record goes; stops a cycle from looping forever. */
const MAX_DEPTH = 64;
const TOO_DEEP = '"[Truncated: too deep]"';

function write(value: unknown, depth: number): string | undefined {
  if (value === null) {
    return 'null';
  }
  switch (typeof value) {
    case 'string':
      // JSON.stringify escapes line breaks and quotes: no value can end the
      // line or the object early.
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return String(value);
    case 'object': {
      if (depth >= MAX_DEPTH) {
        return TOO_DEEP;
      }
      if (Array.isArray(value)) {
        const items = value.map(item => write(item, depth + 1) ?? 'null');
        return `[${items.join(',')}]`;
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        return write(toJSON.call(value), depth + 1);
      }
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(obj).sort()) {
        const written = write(obj[key], depth + 1);
        if (written !== undefined) {
          parts.push(`${JSON.stringify(key)}:${written}`);
        }
      }
      return `{${parts.join(',')}}`;
    }
    default:
      // undefined, functions and symbols are left out, as JSON.stringify does.
      return undefined;
  }
}

/**
 * JSON with every object's keys in sorted order, as winston's `json()` format
 * (safe-stable-stringify) prints a production Backstage backend's log lines.
 * One line; never throws: a cycle or a structure deeper than 64 levels ends
 * in a `[Truncated: too deep]` marker.
 */
export function sortedJson(value: unknown): string {
  return write(value, 0) ?? 'null';
}
