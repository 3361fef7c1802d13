import { REDACTED } from '../record';

/** Decides whether a key (or parameter) name holds a credential. */
export type KeyPredicate = (key: string) => boolean;

const QUOTED_REDACTED = `"${REDACTED}"`;

/** Characters that end a `key=value` key when scanning left from '='. */
function isKeyBoundary(c: number): boolean {
  return (
    c <= 32 ||
    c === 61 /* = */ ||
    c === 38 /* & */ ||
    c === 59 /* ; */ ||
    c === 63 /* ? */ ||
    c === 35 /* # */ ||
    c === 44 /* , */ ||
    c === 34 /* " */ ||
    c === 39 /* ' */ ||
    c === 40 /* ( */ ||
    c === 41 /* ) */ ||
    c === 91 /* [ */ ||
    c === 93 /* ] */ ||
    c === 123 /* { */ ||
    c === 125 /* } */ ||
    c === 60 /* < */ ||
    c === 62 /* > */ ||
    c === 124 /* | */
  );
}

/** Characters that end an unquoted `key=value` value. */
function isValueEnd(c: number): boolean {
  return (
    c <= 32 ||
    c === 38 /* & */ ||
    c === 59 /* ; */ ||
    c === 35 /* # */ ||
    c === 34 /* " */ ||
    c === 39 /* ' */ ||
    c === 60 /* < */ ||
    c === 62 /* > */
  );
}

/** A parameter name as a server reads it ('+' is a space); raw when malformed. */
export function decodeParamName(name: string): string {
  if (name.indexOf('%') === -1 && name.indexOf('+') === -1) {
    return name;
  }
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Redacts the value of every `key=value` pair whose key is sensitive,
 * wherever it stands: query strings (`?token=abc&x=1`), log text
 * (`login user=bob password=abc`), quoted values (`secret="a b"`). Returns
 * `s` itself when nothing is redacted.
 */
export function redactKeyValuePairs(
  s: string,
  sensitive: KeyPredicate,
): string {
  let eq = s.indexOf('=');
  if (eq === -1) {
    return s;
  }
  let out: string | undefined;
  let copied = 0;
  const n = s.length;
  while (eq !== -1) {
    let start = eq;
    while (start > copied && !isKeyBoundary(s.charCodeAt(start - 1))) {
      start--;
    }
    let end = eq + 1;
    const q = s.charCodeAt(end);
    if (q === 34 || q === 39) {
      const close = s.indexOf(String.fromCharCode(q), end + 1);
      end = close === -1 ? n : close + 1;
    } else {
      while (end < n && !isValueEnd(s.charCodeAt(end))) {
        end++;
      }
    }
    if (
      start < eq &&
      end > eq + 1 &&
      !(end - eq - 1 === REDACTED.length && s.startsWith(REDACTED, eq + 1)) &&
      sensitive(decodeParamName(s.slice(start, eq)))
    ) {
      out = (out ?? '') + s.slice(copied, eq + 1) + REDACTED;
      copied = end;
    }
    eq = s.indexOf('=', Math.max(end, eq + 1));
  }
  return out === undefined ? s : out + s.slice(copied);
}

/** End (exclusive) of the quoted string starting at `i` (a quote), honouring backslash escapes. */
function quotedEnd(s: string, i: number): number {
  const q = s.charCodeAt(i);
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 92 /* \ */) {
      j += 2;
      continue;
    }
    if (c === q) {
      return j + 1;
    }
    j++;
  }
  return s.length;
}

/** End (exclusive) of the JSON-ish value starting at `i`: a string, a bracketed block or a scalar. */
function valueEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 34 || c === 39) {
    return quotedEnd(s, i);
  }
  if (c === 123 /* { */ || c === 91 /* [ */) {
    let depth = 0;
    let j = i;
    while (j < s.length) {
      const d = s.charCodeAt(j);
      if (d === 34 || d === 39) {
        j = quotedEnd(s, j);
        continue;
      }
      if (d === 123 || d === 91) depth++;
      if (d === 125 || d === 93) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return s.length;
  }
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 44 || d === 125 || d === 93 || d === 10 || d === 13) break;
    j++;
  }
  // Keep the whitespace before a delimiter outside the redacted value.
  while (j > i && s.charCodeAt(j - 1) <= 32) j--;
  return j;
}

/** `"key":` or `'key':`, the key on one line, escapes allowed. */
const QUOTED_KEY = /(["'])((?:\\.|(?!\1)[^\\\r\n])*)\1\s*:\s*/g;
/** `key: "value"` or `key: 'value'`: util.inspect's unquoted keys, before a quoted value only. */
const BARE_KEY = /(?<![\w$.-])([A-Za-z_$][\w$.-]*)\s*:\s*(?=["'])/g;

function unquote(quote: string, inner: string): string {
  if (quote === '"' && inner.indexOf('\\') !== -1) {
    try {
      return JSON.parse(`"${inner}"`) as string;
    } catch {
      return inner;
    }
  }
  return inner;
}

/** Replaces the values that `re`'s matches introduce, when `keyOf(match)` is sensitive. */
function redactValuesAfter(
  s: string,
  re: RegExp,
  keyOf: (m: RegExpExecArray) => string,
  sensitive: KeyPredicate,
): string {
  let out: string | undefined;
  let copied = 0;
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const valueStart = m.index + m[0].length;
    if (valueStart >= s.length || !sensitive(keyOf(m))) {
      continue;
    }
    const end = valueEnd(s, valueStart);
    const value = s.slice(valueStart, end);
    if (
      end > valueStart &&
      value !== QUOTED_REDACTED &&
      value !== `'${REDACTED}'`
    ) {
      out = (out ?? '') + s.slice(copied, valueStart) + QUOTED_REDACTED;
      copied = end;
    }
    re.lastIndex = Math.max(end, re.lastIndex);
  }
  return out === undefined ? s : out + s.slice(copied);
}

/**
 * Redacts values under sensitive keys in JSON or JavaScript object text
 * embedded in a string: `"password": "x"`, `"secrets": {...}` (the whole
 * block), `'token': 'x'`, and `token: 'x'` (util.inspect's form). An
 * unquoted key counts only before a quoted value, so prose such as "token:
 * expired" stays. Returns `s` itself when nothing is redacted.
 */
export function redactEmbeddedObjects(
  s: string,
  sensitive: KeyPredicate,
): string {
  if (s.indexOf(':') === -1) {
    return s;
  }
  const quoted = redactValuesAfter(
    s,
    QUOTED_KEY,
    m => unquote(m[1], m[2]),
    sensitive,
  );
  return redactValuesAfter(quoted, BARE_KEY, m => m[1], sensitive);
}
