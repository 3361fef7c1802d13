import { REDACTED } from '../record';

/**
 * Values shaped like credentials, whatever key they sit under. Each row is a
 * pattern and what replaces a match; the rows run in order.
 */
const SHAPES: ReadonlyArray<{
  name: string;
  pattern: RegExp;
  replace: string;
}> = [
  {
    // A PEM private key, also one cut short (no END line).
    name: 'pem-private-key',
    pattern:
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    replace: REDACTED,
  },
  {
    // header.payload.signature, base64url; the signature may be empty (alg none).
    name: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
    replace: REDACTED,
  },
  {
    name: 'bearer',
    pattern: /\b([Bb][Ee][Aa][Rr][Ee][Rr])\s+[A-Za-z0-9._~+/=-]+/g,
    replace: `$1 ${REDACTED}`,
  },
  {
    // `Basic dXNlcjpwYXNz`: base64 with a digit, '+', '/', '=' or mixed case,
    // so prose like "basic configuration" stays.
    name: 'basic',
    pattern:
      /\b([Bb][Aa][Ss][Ii][Cc])\s+(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]|[A-Z][a-z]))[A-Za-z0-9+/]{8,}={0,2}/g,
    replace: `$1 ${REDACTED}`,
  },
  {
    // scheme://user:password@host keeps the user.
    name: 'url-password',
    pattern: /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s/?#@:]*):[^\s/?#@]*@/g,
    replace: `$1:${REDACTED}@`,
  },
  {
    // Token formats with a published prefix: GitHub, GitLab, Slack, AWS access
    // key ids, Stripe live keys, npm, Google API keys.
    name: 'prefixed-token',
    pattern:
      /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|[sr]k_live_[A-Za-z0-9]{16,}|npm_[A-Za-z0-9]{36}|AIza[0-9A-Za-z_-]{35})\b/g,
    replace: REDACTED,
  },
];

/**
 * A cheap test that a string may hold one of the shapes: most strings in a
 * record hold none, and this one scan is all they pay.
 */
const TRIGGER =
  /eyJ|[Bb][Ee][Aa][Rr][Ee][Rr]\s|[Bb][Aa][Ss][Ii][Cc]\s|-----BEGIN|:\/\/[^\s/?#@]*@|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AKIA|ASIA|k_live_|npm_|AIza/;

/** Names of the value shapes, for documentation and tests. @public */
export const CREDENTIAL_VALUE_SHAPES = SHAPES.map(s => s.name);

/**
 * Replaces every credential-shaped part of `s` (JWTs, `Bearer ...`, `Basic
 * ...`, PEM private keys, passwords in URLs, prefixed API tokens). Returns
 * `s` itself when there is none.
 *
 * @public
 */
export function redactCredentialValues(s: string): string {
  if (s.length < 8 || !TRIGGER.test(s)) {
    return s;
  }
  let out = s;
  for (const shape of SHAPES) {
    shape.pattern.lastIndex = 0;
    out = out.replace(shape.pattern, shape.replace);
  }
  return out;
}
