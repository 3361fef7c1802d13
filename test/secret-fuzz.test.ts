/**
 * Property test on the real example backend (`npm start`, real guest
 * sign-in): at least 10,000 generated requests hide canary secrets under
 * credential-like keys at random depths (catalog bodies, scaffolder dry-run
 * `secrets`, step inputs, `each` items and parameters), in query strings,
 * cookies and headers, and as credential-shaped values under ordinary keys.
 * Afterwards no canary may appear anywhere in the process's stdout or stderr,
 * audit records and ordinary logs alike, and every request has its two
 * records.
 *
 * The run is reproducible: `FUZZ_SEED=<n> npx jest test/secret-fuzz` replays
 * a failing run (the seed is printed in every failure message).
 * `FUZZ_REQUESTS` changes the number of requests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  ExampleBackend,
  ROOT,
  startExampleBackend,
  waitForExampleEntity,
} from './support/exampleBackend';
import { assertValidRecords } from './support/recordSchema';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
/** Every dry run executes a template: they are the slow part, so fewer. */
const DRY_RUN_SHARE = 0.03;
const CONCURRENCY = 8;

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Credential key names as real systems spell them, collected independently
 * of the redactor's rules: OWASP's Logging Cheat Sheet, CI secret variables
 * (GitHub Actions, GitLab CI, CircleCI docs), SDK options (AWS, Azure, GCP,
 * Stripe, Twilio, OAuth 2.0 / PKCE), Kubernetes Secret types.
 */
const CREDENTIAL_NAMES = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'db_password',
  'adminPassword',
  'secret',
  'client_secret',
  'clientSecret',
  'secretAccessKey',
  'aws_secret_access_key',
  'AWS_SECRET_ACCESS_KEY',
  'AZURE_CLIENT_SECRET',
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'id_token',
  'authToken',
  'auth_token',
  'GITHUB_TOKEN',
  'NPM_TOKEN',
  'GITLAB_PRIVATE_TOKEN',
  'CODECOV_TOKEN',
  'SONAR_TOKEN',
  'TWILIO_AUTH_TOKEN',
  'sessionToken',
  'session_id',
  'sessionId',
  'JSESSIONID',
  'apiKey',
  'api_key',
  'x-api-key',
  'API_KEY',
  'STRIPE_SECRET_KEY',
  'SENDGRID_API_KEY',
  'privateKey',
  'private_key',
  'ssh-privatekey',
  'sshKey',
  'ssh_key',
  'deployKey',
  'signingKey',
  'encryptionKey',
  'tls.key',
  'GPG_PRIVATE_KEY',
  'GPG_PASSPHRASE',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'credentials',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'connectionString',
  'DATABASE_CONNECTION_STRING',
  'SENTRY_DSN',
  'SLACK_WEBHOOK_URL',
  'code_verifier',
  'otp',
  'pin',
  'jwt',
  'bearer',
  'kubeconfig',
  '.dockerconfigjson',
];

const ORDINARY_KEYS = [
  'name',
  'description',
  'config',
  'settings',
  'spec',
  'items',
  'owner',
  'labels',
  'data',
  'options',
  'nested',
  'values',
  'target',
  'env',
];

/** A credential name in one of the spellings real configs use. */
function spell(rand: () => number, name: string): string {
  const variants = [
    (n: string) => n,
    (n: string) => n.toUpperCase(),
    (n: string) => n.toLowerCase(),
    (n: string) => `x-${n}`,
    (n: string) => `my_${n}`,
    (n: string) => `${n}Value`,
  ];
  return variants[Math.floor(rand() * variants.length)](name);
}

interface Canaries {
  all: string[];
  next(): string;
}

function canaryFactory(rand: () => number, requestIndex: number): Canaries {
  const all: string[] = [];
  return {
    all,
    next() {
      const c = `fzc${requestIndex.toString(36)}x${Math.floor(rand() * 36 ** 6)
        .toString(36)
        .padStart(6, '0')}`;
      all.push(c);
      return c;
    },
  };
}

const b64url = (s: string) => Buffer.from(s).toString('base64url');

/** A canary shaped like a credential, to sit under an ordinary key. */
function shaped(rand: () => number, canary: string): string {
  const shapes = [
    () =>
      `${b64url('{"alg":"ES256"}')}.${b64url(
        `{"sub":"user:default/x","n":"${canary}"}`,
      )}.${b64url(canary)}`,
    () => `Bearer ${canary}`,
    () =>
      `-----BEGIN PRIVATE KEY-----\nMIIE${canary}\n-----END PRIVATE KEY-----`,
    () => `postgres://svc:${canary}@db.internal:5432/app`,
    () => `password=${canary}`,
    () => `{"apiKey":"${canary}"}`,
  ];
  return shapes[Math.floor(rand() * shapes.length)]();
}

/** An object tree with canaries under credential keys at random depths. */
function tree(rand: () => number, canaries: Canaries, depth = 0): unknown {
  const out: Record<string, unknown> = {};
  const keys = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < keys; i++) {
    const r = rand();
    const key = ORDINARY_KEYS[Math.floor(rand() * ORDINARY_KEYS.length)];
    if (r < 0.35) {
      const cred = spell(
        rand,
        CREDENTIAL_NAMES[Math.floor(rand() * CREDENTIAL_NAMES.length)],
      );
      const v = canaries.next();
      const form = rand();
      out[cred] =
        form < 0.6
          ? v
          : form < 0.8
            ? { value: v, type: 'opaque' }
            : [v, { nested: v }];
    } else if (r < 0.45) {
      out[key] = shaped(rand, canaries.next());
    } else if (r < 0.8 && depth < 8) {
      out[key] =
        rand() < 0.3
          ? [tree(rand, canaries, depth + 1), 'plain']
          : tree(rand, canaries, depth + 1);
    } else {
      out[key] = `plain-${Math.floor(rand() * 1000)}`;
    }
  }
  return out;
}

interface FuzzRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  canaries: string[];
  dryRun: boolean;
}

function generate(
  seed: number,
  index: number,
  template: Record<string, any>,
  token: string,
): FuzzRequest {
  const rand = prng(seed ^ Math.imul(index + 1, 0x9e3779b1));
  const canaries = canaryFactory(rand, index);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
  };
  // Cookies and headers never reach a record; prove they reach no log either.
  if (rand() < 0.3) {
    headers.Cookie = `session=${canaries.next()}; theme=dark`;
  }
  if (rand() < 0.3) {
    headers['X-Api-Key'] = canaries.next();
  }
  if (rand() < 0.2) {
    headers['User-Agent'] = `fuzz/1.0 (${spell(
      rand,
      'password',
    )}=${canaries.next()})`;
  }
  if (rand() < 0.2) {
    headers.Referer = `http://portal.example/x?access_token=${canaries.next()}`;
  }
  const cred = () =>
    encodeURIComponent(
      spell(
        rand,
        CREDENTIAL_NAMES[Math.floor(rand() * CREDENTIAL_NAMES.length)],
      ),
    );
  const query =
    rand() < 0.5 ? `&${cred()}=${canaries.next()}&plain=${index}` : '';

  if (rand() < DRY_RUN_SHARE) {
    const t = JSON.parse(JSON.stringify(template));
    const inputs = tree(rand, canaries);
    const tokenKey = spell(rand, 'token');
    const items = [0, 1].map(i => ({
      [tokenKey]: canaries.next(),
      label: `item-${index}-${i}`,
    }));
    t.spec.steps = [
      {
        id: 'log',
        name: 'Log',
        action: 'debug:log',
        input: { message: 'fuzz', extra: inputs },
      },
      {
        id: 'loop',
        name: 'Loop',
        action: 'debug:log',
        each: items,
        input: {
          message: '${{ each.value.label }}',
          [spell(rand, 'apiKey')]: `\${{ each.value['${tokenKey}'] }}`,
        },
      },
    ];
    return {
      method: 'POST',
      url: `/api/scaffolder/v2/dry-run?fuzz=${index}${query}`,
      headers,
      body: {
        template: t,
        values: { name: `fuzz-${index}`, options: tree(rand, canaries) },
        secrets: { [spell(rand, 'deployKey')]: canaries.next() },
        directoryContents: [],
      },
      canaries: canaries.all,
      dryRun: true,
    };
  }

  const kind = Math.floor(rand() * 5);
  const body = tree(rand, canaries) as Record<string, unknown>;
  switch (kind) {
    case 0:
      return {
        method: 'POST',
        url: `/api/catalog/validate-entity?fuzz=${index}${query}`,
        headers,
        body: {
          location: 'url:https://example.com/catalog-info.yaml',
          entity: {
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Component',
            metadata: { name: `fuzz-${index}` },
            spec: { type: 'service', owner: 'team', ...body },
          },
        },
        canaries: canaries.all,
        dryRun: false,
      };
    case 1:
      return {
        method: 'POST',
        url: `/api/catalog/refresh?fuzz=${index}${query}`,
        headers,
        body: { entityRef: 'component:default/payments-api', ...body },
        canaries: canaries.all,
        dryRun: false,
      };
    case 2:
      return {
        method: 'POST',
        url: `/api/catalog/entities/by-refs?fuzz=${index}${query}`,
        headers,
        body: { entityRefs: ['component:default/payments-api'], ...body },
        canaries: canaries.all,
        dryRun: false,
      };
    case 3:
      return {
        method: 'POST',
        url: `/api/catalog/analyze-location?fuzz=${index}${query}`,
        headers,
        body: {
          location: {
            type: 'url',
            target: 'https://example.com/x/catalog-info.yaml',
          },
          ...body,
        },
        canaries: canaries.all,
        dryRun: false,
      };
    default:
      return {
        method: 'GET',
        url: `/api/catalog/entities/by-query?limit=1&fuzz=${index}${query}`,
        headers,
        canaries: canaries.all,
        dryRun: false,
      };
  }
}

describe('secret fuzzing on the example backend', () => {
  let backend: ExampleBackend;
  const sent: Array<{ request: FuzzRequest; auditId: string; status: number }> =
    [];
  let output = '';

  beforeAll(async () => {
    backend = await startExampleBackend();
    await waitForExampleEntity(backend, 'template:default/hello-audit');
    await waitForExampleEntity(backend, 'component:default/payments-api');
    const template = parse(
      fs.readFileSync(
        path.join(
          ROOT,
          'packages/backend/examples/templates/hello/template.yaml',
        ),
        'utf8',
      ),
    );
    let next = 0;
    const worker = async () => {
      for (;;) {
        const index = next++;
        if (index >= REQUESTS) return;
        const r = generate(SEED, index, template, backend.token);
        const res = await fetch(`${backend.base}${r.url}`, {
          method: r.method,
          headers: {
            ...r.headers,
            ...(r.body ? { 'Content-Type': 'application/json' } : {}),
          },
          body: r.body ? JSON.stringify(r.body) : undefined,
        });
        await res.arrayBuffer();
        sent.push({
          request: r,
          auditId: res.headers.get('audit-id') ?? '',
          status: res.status,
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // Dry runs log their steps after the response: let the last ones finish.
    await new Promise(r => setTimeout(r, 2000));
    await backend.stop();
    output = backend.stdout() + backend.stderr();
  }, 600_000);

  afterAll(async () => {
    await backend?.stop();
  });

  it(`sent at least 10,000 requests (seed ${SEED}), every one answered`, () => {
    expect(sent.length).toBe(REQUESTS);
    expect(REQUESTS >= 10_000 || process.env.FUZZ_REQUESTS).toBeTruthy();
    const planted = sent.reduce((n, s) => n + s.request.canaries.length, 0);
    expect(planted).toBeGreaterThan(REQUESTS);
    expect(sent.filter(s => s.request.dryRun).length).toBeGreaterThan(0);
    // Bad input gets an answer, never a crash: nothing returned 5xx.
    const crashed = sent.filter(s => s.status >= 500);
    expect(crashed.map(s => `${s.status} ${s.request.url}`)).toEqual([]);
  });

  it(`leaks no canary into any output (seed ${SEED})`, () => {
    const found = new Set(output.match(/fzc[0-9a-z]+x[0-9a-z]{6}/g) ?? []);
    const leaks: string[] = [];
    for (const { request } of sent) {
      for (const canary of request.canaries) {
        if (found.has(canary)) {
          const at = output.indexOf(canary);
          leaks.push(
            `${canary} from ${request.method} ${request.url.slice(0, 80)}: ...${output
              .slice(Math.max(0, at - 160), at + 40)
              .replace(/\n/g, '\\n')}`,
          );
        }
      }
    }
    expect({
      seed: SEED,
      leaks: leaks.slice(0, 10),
      total: leaks.length,
    }).toEqual({ seed: SEED, leaks: [], total: 0 });
  });

  it(`wrote both records of every request as whole, valid lines (seed ${SEED})`, () => {
    const records = output
      .split('\n')
      .filter(l => l.includes('"isAuditLog":true'))
      .map(l => JSON.parse(l));
    assertValidRecords(records);
    const stages = new Map<string, string[]>();
    for (const r of records) {
      stages.set(r.auditId, [...(stages.get(r.auditId) ?? []), r.stage]);
    }
    const missing = sent.filter(
      s =>
        JSON.stringify(stages.get(s.auditId)) !==
        JSON.stringify(['initiation', 'completion']),
    );
    expect(missing.map(s => s.request.url.slice(0, 80))).toEqual([]);
  });
});
