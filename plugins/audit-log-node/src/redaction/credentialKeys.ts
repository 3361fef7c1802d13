/**
 * Which key names hold credentials. Derived from real sources: OWASP's
 * Logging Cheat Sheet ("data to exclude": passwords, session ids, access
 * tokens, encryption keys, connection strings), common CI secret names
 * (`GITHUB_TOKEN`, `NPM_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `GPG_PASSPHRASE`,
 * `SENTRY_DSN`, `SLACK_WEBHOOK_URL`), SDK and protocol option names
 * (`clientSecret`, `secretAccessKey`, `sessionToken`, `passphrase`, `pfx`,
 * `code_verifier`) and Kubernetes Secret keys (`password`, `token`,
 * `ssh-privatekey`, `tls.key`, `.dockerconfigjson`).
 *
 * A key is split into words (`x-api-key` -> x, api, key; `sshKey` -> ssh,
 * key; `AWS_SECRET_ACCESS_KEY` -> aws, secret, access, key) and matched by
 * the rules below. Over-redaction is the safe failure, but ordinary
 * identifiers stay readable: `key`, `keyId`, `publicKey`, `primaryKey`,
 * `tokenizer`, `author`, `authority`, `passenger`, `bypass`, `pattern` are not
 * credentials. Known false positives, accepted: `secretary`, `authProvider`,
 * `signatureAlgorithm`, `tokenCount`.
 */
export const CREDENTIAL_KEY_RULES = {
  /** Found anywhere in the key, once separators are removed and case folded. */
  stems: [
    'password',
    'passwd',
    'passphrase',
    'secret',
    'credential',
    'authorization',
    'cookie',
    'bearer',
    'apikey',
    'privatekey',
    'accesskey',
    'secretkey',
    'sshkey',
    'sessionid',
    'signature',
    'connectionstring',
    'webhookurl',
    'kubeconfig',
    'dockerconfig',
    'codeverifier',
    'cardnumber',
  ],
  /** Whole words that are credentials on their own. */
  words: [
    'pwd',
    'pin',
    'otp',
    'totp',
    'jwt',
    'auth',
    'sid',
    'dsn',
    'creds',
    'pat',
    'pfx',
    'sig',
    'cvv',
    'cvc',
    'connstr',
  ],
  /** Credentials only as the last word (`db_pass`, `smtpPass`; not `passThrough`). */
  lastWords: ['pass'],
  /** A word ending with one of these (`token`, `accessToken`, `csrftoken`; not `tokenizer`). */
  wordSuffixes: ['token', 'tokens'],
  /**
   * `key` after one of these words, or glued to it (`signingKey`,
   * `signing_key`, `signingkey`). `key` alone, `keyId` and `publicKey` stay.
   */
  keyQualifiers: [
    'private',
    'secret',
    'access',
    'api',
    'signing',
    'sign',
    'encryption',
    'enc',
    'ssh',
    'client',
    'master',
    'session',
    'shared',
    'hmac',
    'deploy',
    'gpg',
    'pgp',
    'tls',
    'ssl',
    'account',
    'storage',
    'subscription',
    'app',
    'auth',
    'root',
    'license',
    'crypto',
    'cipher',
  ],
  /** Word pairs, the second right after the first (`session_id`, `webhook-url`). */
  pairs: [
    ['session', 'id'],
    ['session', 'key'],
    ['webhook', 'url'],
    ['code', 'verifier'],
    ['card', 'number'],
    ['conn', 'str'],
  ],
} as const;

/** Words of a key: split on non-alphanumerics and camelCase boundaries, lower-cased. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const STEMS = CREDENTIAL_KEY_RULES.stems;
const WORDS = new Set<string>(CREDENTIAL_KEY_RULES.words);
const LAST_WORDS = new Set<string>(CREDENTIAL_KEY_RULES.lastWords);
const QUALIFIERS = new Set<string>(CREDENTIAL_KEY_RULES.keyQualifiers);
const PAIRS = new Set<string>(
  CREDENTIAL_KEY_RULES.pairs.map(([a, b]) => `${a} ${b}`),
);
/** `STRIPE_KEY`, `OPENAI_KEY`: environment-style names ending in `_KEY`. */
const ENV_KEY = /^[A-Z0-9]+(?:_[A-Z0-9]+)*_KEY$/;

/**
 * Whether values under `key` are credentials by {@link CREDENTIAL_KEY_RULES}.
 *
 * @public
 */
export function isCredentialKey(key: string): boolean {
  const folded = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const stem of STEMS) {
    if (folded.includes(stem)) {
      return true;
    }
  }
  if (ENV_KEY.test(key)) {
    return true;
  }
  const words = keyWords(key);
  if (words.length > 0 && LAST_WORDS.has(words[words.length - 1])) {
    return true;
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (WORDS.has(w)) {
      return true;
    }
    for (const suffix of CREDENTIAL_KEY_RULES.wordSuffixes) {
      if (w.endsWith(suffix)) {
        return true;
      }
    }
    if (w === 'key' && i > 0 && QUALIFIERS.has(words[i - 1])) {
      return true;
    }
    if (w.length > 3 && w.endsWith('key') && QUALIFIERS.has(w.slice(0, -3))) {
      return true;
    }
    if (i > 0 && PAIRS.has(`${words[i - 1]} ${w}`)) {
      return true;
    }
  }
  return false;
}
