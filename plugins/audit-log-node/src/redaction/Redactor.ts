import { REDACTED } from '../record';
import { isCredentialKey } from './credentialKeys';
import { redactCredentialValues } from './credentialValues';
import {
  decodeParamName,
  redactEmbeddedObjects,
  redactKeyValuePairs,
} from './textRedaction';

/**
 * Values under credential keys at least this long are also scrubbed from the
 * rest of their record.
 *
 * @public
 */
export const MIN_ECHO_SCRUB_LENGTH = 6;

/** Query parameters redacted in every URL by default. @public */
export const DEFAULT_REDACTED_QUERY_PARAMS = [
  'token',
  'access_token',
  'api_key',
];

/** @public */
export interface RedactorOptions {
  /** Extra exact key names (case-insensitive) whose values are redacted. */
  keys?: string[];
  /**
   * Regular expression (source) matched against key names, case-insensitive,
   * in addition to the built-in credential key rules (`credentialKeys.ts`).
   */
  keyPattern?: string;
  /** Query parameter names whose values are redacted in URLs and URL-like strings. */
  queryParams?: string[];
  /** Deeper values are replaced by a marker. Default 12. */
  maxDepth?: number;
  /** Longer strings are cut with a marker. Default 16384. */
  maxStringLength?: number;
  /** At most this many values are copied per call; the rest become a marker. Default 20000. */
  maxNodes?: number;
}

/** Options for one {@link Redactor.copy} call. @public */
export interface RedactOptions {
  /**
   * Known secret values (e.g. a scaffolder request's `secrets`). Every
   * occurrence inside any string is replaced, wherever it appears.
   */
  secretValues?: Iterable<string>;
  /** Serialized size cap in bytes; a larger copy is replaced by a truncation marker. */
  maxBytes?: number;
}

/** What a too-large value is replaced with. @public */
export interface TruncationMarker {
  truncated: true;
  originalBytes: number;
  preview: string;
}

interface CopyState {
  nodes: number;
  approxBytes: number;
  /** Objects on the current path; created at the first object. */
  seen?: Set<object>;
  scrub?: RegExp;
}

/**
 * Bounds of the clean-text memo: strings up to this long, at most this many
 * per generation (two generations).
 */
const CLEAN_TEXT_MAX_LENGTH = 1024;
const CLEAN_TEXT_GENERATION = 2048;

const TRUNCATED_DEPTH = '[Truncated: too deep]';
const TRUNCATED_NODES = '[Truncated: too many values]';
const CIRCULAR = '[Circular]';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `\s` of JavaScript regular expressions. */
function isSpace(c: number): boolean {
  if (c <= 32) {
    return c === 32 || (c >= 9 && c <= 13);
  }
  if (c < 160) {
    return false;
  }
  return (
    c === 160 ||
    c === 5760 ||
    (c >= 8192 && c <= 8202) ||
    c === 8232 ||
    c === 8233 ||
    c === 8239 ||
    c === 8287 ||
    c === 12288 ||
    c === 65279
  );
}

/** `[^&#;\s]`: a character of a query value. */
function isValueChar(c: number): boolean {
  return (
    c !== 38 /* & */ && c !== 35 /* # */ && c !== 59 /* ; */ && !isSpace(c)
  );
}

/** `[^=&#;\s]`: a character of a query parameter name. */
function isNameChar(c: number): boolean {
  return c !== 61 /* = */ && isValueChar(c);
}

function isRedactedAt(s: string, start: number, end: number): boolean {
  return end - start === REDACTED.length && s.startsWith(REDACTED, start);
}

/**
 * Produces redacted copies of untrusted values. The copy *is* the redaction:
 * nothing is cloned first and redacted later, so a secret is never duplicated.
 * Copying never throws: cycles, deep nesting, huge values, throwing getters
 * and exotic types all become explicit markers.
 *
 * @public
 */
export class Redactor {
  readonly #keyPattern?: RegExp;
  readonly #keys: Set<string>;
  readonly #queryParams: Set<string>;
  readonly #maxDepth: number;
  readonly #maxStringLength: number;
  readonly #maxNodes: number;
  readonly #sensitiveKeyCache = new Map<string, boolean>();
  readonly #sensitiveParamCache = new Map<string, boolean>();
  /**
   * Strings `text()` found nothing to redact in. Most strings of a record
   * recur (the actor's user agent and address on every request, a URL and
   * its parameters in both records of a request), and the scan is most of a
   * record's redaction cost. Only strings that come out unchanged are kept,
   * so the memo holds nothing a record would not show as it is. Two
   * generations: when the young one is full it becomes the old one, and a
   * string found in the old one moves back, so the strings every request
   * repeats stay however many one-off URLs pass through.
   */
  #cleanText = new Set<string>();
  #cleanTextOld = new Set<string>();

  static create(options: RedactorOptions = {}): Redactor {
    return new Redactor(options);
  }

  private constructor(options: RedactorOptions) {
    this.#keyPattern = options.keyPattern
      ? new RegExp(options.keyPattern, 'i')
      : undefined;
    this.#keys = new Set((options.keys ?? []).map(k => k.toLowerCase()));
    this.#queryParams = new Set(
      (options.queryParams ?? DEFAULT_REDACTED_QUERY_PARAMS).map(k =>
        k.toLowerCase(),
      ),
    );
    this.#maxDepth = options.maxDepth ?? 12;
    this.#maxStringLength = options.maxStringLength ?? 16384;
    this.#maxNodes = options.maxNodes ?? 20000;
  }

  /** Whether values under this key are credentials. */
  isSensitiveKey(key: string): boolean {
    let hit = this.#sensitiveKeyCache.get(key);
    if (hit === undefined) {
      hit =
        this.#keys.has(key.toLowerCase()) ||
        isCredentialKey(key) ||
        (this.#keyPattern?.test(key) ?? false);
      // Keys come from request bodies: bound the cache so it cannot grow without limit.
      if (this.#sensitiveKeyCache.size < 4096) {
        this.#sensitiveKeyCache.set(key, hit);
      }
    }
    return hit;
  }

  /** Whether a query parameter's value must be redacted. */
  isSensitiveQueryParam(name: string): boolean {
    let hit = this.#sensitiveParamCache.get(name);
    if (hit === undefined) {
      hit =
        this.#queryParams.has(name.toLowerCase()) || this.isSensitiveKey(name);
      // Names come from requests: bound the cache so it cannot grow without limit.
      if (this.#sensitiveParamCache.size < 4096) {
        this.#sensitiveParamCache.set(name, hit);
      }
    }
    return hit;
  }

  /**
   * Redacts credential-like query values in a URL or URL-like string;
   * `?token=abc&x=1` becomes `?token=***&x=1`. Every `name=value` pair that
   * follows a `?`, `&` or `;` anywhere in the string is checked (the
   * matches of `/([?&;])([^=&#;\s]+)=([^&#;\s]*)/g`). Returns the input
   * itself when there is nothing to redact.
   */
  url(url: string): string {
    if (url.indexOf('=') === -1) {
      return url;
    }
    // A character scan rather than a regular expression with a replacer:
    // this runs on every URL and every string containing '=' in a record.
    let out: string | undefined;
    let copied = 0;
    const n = url.length;
    let i = 0;
    while (i < n) {
      const c = url.charCodeAt(i);
      if (c !== 63 /* ? */ && c !== 38 /* & */ && c !== 59 /* ; */) {
        i++;
        continue;
      }
      let eq = i + 1;
      while (eq < n && isNameChar(url.charCodeAt(eq))) {
        eq++;
      }
      if (eq === i + 1 || eq === n || url.charCodeAt(eq) !== 61 /* = */) {
        // No pair starts here, nor at any '?' inside the scanned name: each
        // of those would stop at the same character.
        i = eq;
        continue;
      }
      let end = eq + 1;
      while (end < n && isValueChar(url.charCodeAt(end))) {
        end++;
      }
      if (end > eq + 1 && !isRedactedAt(url, eq + 1, end)) {
        const name = url.slice(i + 1, eq);
        if (this.isSensitiveQueryParam(decodeParamName(name))) {
          out = (out ?? '') + url.slice(copied, eq + 1) + REDACTED;
          copied = end;
        }
      }
      i = end;
    }
    return out === undefined ? url : out + url.slice(copied);
  }

  /**
   * Redacts credentials in free text, whatever key they sit under:
   * credential-shaped values (JWTs, `Bearer ...`, PEM private keys, URL
   * passwords, prefixed API tokens), `key=value` pairs with a sensitive key
   * anywhere (query strings included), and values under sensitive keys in
   * embedded JSON or JavaScript object text. Returns `s` itself when there is
   * nothing to redact.
   */
  text(s: string): string {
    const memo = s.length <= CLEAN_TEXT_MAX_LENGTH;
    if (memo) {
      if (this.#cleanText.has(s)) {
        return s;
      }
      if (this.#cleanTextOld.has(s)) {
        this.#rememberClean(s);
        return s;
      }
    }
    let out = redactCredentialValues(s);
    if (out.indexOf('=') !== -1) {
      out = redactKeyValuePairs(out, this.#isSensitiveParam);
    }
    if (out.indexOf('"') !== -1 || out.indexOf("'") !== -1) {
      out = redactEmbeddedObjects(out, this.#isSensitiveKeyBound);
    }
    if (memo && out === s) {
      this.#rememberClean(s);
    }
    return out;
  }

  #rememberClean(s: string): void {
    if (this.#cleanText.size >= CLEAN_TEXT_GENERATION) {
      this.#cleanTextOld = this.#cleanText;
      this.#cleanText = new Set();
    }
    this.#cleanText.add(s);
  }

  readonly #isSensitiveParam = (name: string) =>
    this.isSensitiveQueryParam(name);
  readonly #isSensitiveKeyBound = (key: string) => this.isSensitiveKey(key);

  /**
   * Adds to `out` the string values found under credential-like keys of
   * `value` (at any depth), and, with `queryParams`, under sensitive query
   * parameters. A record scrubs them from all its other strings too: a
   * handler's error message that echoes a submitted token must not carry it.
   * Values shorter than `MIN_ECHO_SCRUB_LENGTH` (6) are left out, so that a
   * one-character password does not blank every such character of a record.
   */
  collectSensitiveValues(
    value: unknown,
    out: string[],
    options?: { queryParams?: boolean },
  ): void {
    this.#collect(value, 0, false, out, options?.queryParams === true);
  }

  // A method, not a closure made per call: a record collects three times.
  #collect(
    v: unknown,
    depth: number,
    under: boolean,
    out: string[],
    queryParams: boolean,
  ): void {
    if (out.length >= 256 || depth > this.#maxDepth) {
      return;
    }
    if (typeof v === 'string') {
      if (under && v.length >= MIN_ECHO_SCRUB_LENGTH) {
        out.push(v);
      }
      return;
    }
    if (!v || typeof v !== 'object') {
      return;
    }
    if (Array.isArray(v)) {
      for (const item of v)
        this.#collect(item, depth + 1, under, out, queryParams);
      return;
    }
    for (const key of Object.keys(v)) {
      let child: unknown;
      try {
        child = (v as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      const sensitive =
        under ||
        (depth === 0 && queryParams
          ? this.isSensitiveQueryParam(key)
          : this.isSensitiveKey(key));
      this.#collect(child, depth + 1, sensitive, out, queryParams);
    }
  }

  /** Redacted copy of a parsed query object (`req.query`). */
  query(
    query: unknown,
    options: RedactOptions = {},
  ): Record<string, unknown> | undefined {
    if (!query || typeof query !== 'object') {
      return undefined;
    }
    const out: Record<string, unknown> = {};
    let any = false;
    for (const key of Object.keys(query)) {
      any = true;
      const value = (query as Record<string, unknown>)[key];
      out[key] = this.isSensitiveQueryParam(key)
        ? this.#redactAll(value, 0)
        : this.copy(value, options);
    }
    return any ? out : undefined;
  }

  /**
   * A redacted deep copy of `value`, safe to serialize. Values under
   * credential-like keys keep their keys and become `"***"` at every depth.
   */
  copy(value: unknown, options: RedactOptions = {}): unknown {
    const state: CopyState = {
      nodes: 0,
      approxBytes: 0,
      seen: undefined,
      scrub: this.#scrubPattern(options.secretValues),
    };
    const copied = this.#copy(value, 0, state);
    const max = options.maxBytes;
    // state.approxBytes undercounts (JSON escapes, multi-byte characters,
    // dates, markers, redacted subtrees), so the cap is checked on the exact
    // serialized size; truncate() returns the copy itself when it fits.
    if (max !== undefined) {
      return truncate(copied, max);
    }
    return copied;
  }

  /** The last secret-value list and its pattern: a record's copies share one list. */
  #lastValues?: Iterable<string>;
  #lastPattern?: RegExp;

  #scrubPattern(values: Iterable<string> | undefined): RegExp | undefined {
    if (!values) {
      return undefined;
    }
    if (values === this.#lastValues) {
      return this.#lastPattern;
    }
    const pattern = this.#compileScrub(values);
    this.#lastValues = values;
    this.#lastPattern = pattern;
    return pattern;
  }

  #compileScrub(values: Iterable<string>): RegExp | undefined {
    const parts: string[] = [];
    for (const v of values) {
      if (typeof v === 'string' && v.length > 0) {
        parts.push(escapeRegExp(v));
      }
    }
    if (parts.length === 0) {
      return undefined;
    }
    // Longest first so a secret that contains another is removed whole.
    parts.sort((a, b) => b.length - a.length);
    return new RegExp(parts.join('|'), 'g');
  }

  #string(s: string, state: CopyState): string {
    let out = s;
    if (state.scrub) {
      state.scrub.lastIndex = 0;
      out = out.replace(state.scrub, REDACTED);
    }
    out = this.text(out);
    if (out.length > this.#maxStringLength) {
      out = `${out.slice(0, this.#maxStringLength)}…[truncated ${
        out.length - this.#maxStringLength
      } chars]`;
    }
    state.approxBytes += out.length + 2;
    return out;
  }

  #copy(value: unknown, depth: number, state: CopyState): unknown {
    if (++state.nodes > this.#maxNodes) {
      return TRUNCATED_NODES;
    }
    switch (typeof value) {
      case 'string':
        return this.#string(value, state);
      case 'number':
        state.approxBytes += 8;
        return Number.isFinite(value) ? value : String(value);
      case 'boolean':
        state.approxBytes += 5;
        return value;
      case 'bigint':
        state.approxBytes += 8;
        return value.toString();
      case 'undefined':
        return undefined;
      case 'function':
      case 'symbol':
        return undefined;
      default:
        break;
    }
    if (value === null) {
      state.approxBytes += 4;
      return null;
    }
    const obj = value as object;
    if (depth >= this.#maxDepth) {
      return TRUNCATED_DEPTH;
    }
    if (state.seen?.has(obj)) {
      return CIRCULAR;
    }
    if (obj instanceof Date) {
      return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
    }
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
      return `[Binary ${(obj as ArrayBuffer).byteLength} bytes]`;
    }
    if (obj instanceof Error) {
      return {
        name: this.#string(String(obj.name), state),
        message: this.#string(String(obj.message), state),
      };
    }
    const seen = (state.seen ??= new Set());
    seen.add(obj);
    try {
      if (Array.isArray(obj)) {
        const out = new Array(obj.length);
        for (let i = 0; i < obj.length; i++) {
          let item: unknown;
          try {
            item = obj[i];
          } catch {
            item = '[Unreadable]';
          }
          const v = this.#copy(item, depth + 1, state);
          out[i] = v === undefined ? null : v;
        }
        state.approxBytes += obj.length + 2;
        return out;
      }
      if (obj instanceof Map || obj instanceof Set) {
        return `[${obj.constructor.name} size=${obj.size}]`;
      }
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj)) {
        let v: unknown;
        try {
          v = (obj as Record<string, unknown>)[key];
        } catch {
          v = '[Unreadable]';
        }
        state.approxBytes += key.length + 4;
        const copied = this.isSensitiveKey(key)
          ? this.#redactAll(v, depth + 1)
          : this.#copy(v, depth + 1, state);
        if (copied !== undefined) {
          out[key] = copied;
        }
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  }

  /** Keeps the shape (keys, array lengths) and replaces every leaf. */
  #redactAll(value: unknown, depth: number): unknown {
    if (value === null || value === undefined) {
      return value;
    }
    if (typeof value !== 'object' || depth >= this.#maxDepth) {
      return REDACTED;
    }
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        let v: unknown;
        try {
          v = value[i];
        } catch {
          v = undefined;
        }
        out.push(this.#redactAll(v, depth + 1));
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      let v: unknown;
      try {
        v = (value as Record<string, unknown>)[key];
      } catch {
        v = undefined;
      }
      out[key] = this.#redactAll(v, depth + 1);
    }
    return out;
  }
}

function truncate(
  copied: unknown,
  maxBytes: number,
): TruncationMarker | unknown {
  let json: string;
  try {
    json = JSON.stringify(copied) ?? '';
  } catch {
    json = '';
  }
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) {
    return copied;
  }
  return {
    truncated: true,
    originalBytes: bytes,
    preview: json.slice(0, Math.max(0, maxBytes)),
  } satisfies TruncationMarker;
}
