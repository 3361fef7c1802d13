/**
 * The filters of docs/operators.md, applied to the real output of the example
 * backend running as in a cluster (NODE_ENV=production: ordinary logs are
 * JSON lines too), with ordinary log lines that carry the word `isAuditLog`
 * where a client controls the text (URL, user agent).
 *
 * Neither Vector nor Fluent Bit nor OpenShift's collector can run here (none
 * is packaged for this machine's Debian), so each filter's decision is
 * restated below in JavaScript, with the regular expressions exactly as the
 * guide writes them (plain literals that mean the same in Rust's regex,
 * Onigmo and JavaScript), and the decision rule the collector documents:
 *
 * - OpenShift's `drop` filter compiles to `!match(to_string(field) ?? "", r'...')`
 *   (cluster-logging-operator, internal/generator/vector/filter/drop); its
 *   `parse` filter sets `.structured` to `parse_json(.message)`; `.message` is
 *   the container's line, after the runtime's partial lines are merged.
 * - The Vector remap keeps an event when `parse_json(.message)` is an object
 *   whose `isAuditLog` is `true`.
 * - The Fluent Bit Lua filter keeps a record whose parsed `isAuditLog` is
 *   `true`; lines that are not JSON keep their raw `log` field only.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** The regular expression of seed 003's OpenShift filter (`notMatches: isAuditLog`). */
const SEED_PATTERN = /isAuditLog/;

function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

/** Each filter of the guide: does the line reach the SIEM? */
const FILTERS: Record<string, (line: string) => boolean> = {
  // OpenShift, the seed's filter: drop when .message does not match.
  'openshift-message-match': line => SEED_PATTERN.test(line),
  // OpenShift, parse + drop on .structured.isAuditLog notMatches ^true$.
  'openshift-structured': line => {
    const structured = parseObject(line);
    const value = structured?.isAuditLog;
    return value !== undefined && /^true$/.test(String(value));
  },
  // Vector remap: parse_json(.message) is an object with isAuditLog == true.
  'vector-remap': line => parseObject(line)?.isAuditLog === true,
  // Fluent Bit: parser filter (json) then the Lua filter.
  'fluent-bit-lua': line => parseObject(line)?.isAuditLog === true,
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

describe('the operators guide filters on the real output of a production backend', () => {
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  const auditIds: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-forwarding-'));
    const overrides = path.join(dir, 'production.yaml');
    fs.writeFileSync(
      overrides,
      [
        'backend:',
        `  baseUrl: ${base}`,
        '  listen:',
        `    port: ${port}`,
        'auth:',
        '  providers:',
        '    guest:',
        '      dangerouslyAllowOutsideDevelopment: true',
        '',
      ].join('\n'),
    );
    child = spawn('npm', ['start', '--', '--config', overrides], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, NODE_ENV: 'production', FORCE_COLOR: '0' },
    });
    child.stdout!.on('data', d => (stdout += d));
    child.stderr!.on('data', d => (stderr += d));

    let token = '';
    const deadline = Date.now() + 150_000;
    while (!token) {
      if (Date.now() > deadline) {
        throw new Error(`backend did not start:\n${stdout}\n${stderr}`);
      }
      try {
        const res = await fetch(`${base}/api/auth/guest/refresh`, {
          method: 'POST',
        });
        if (res.ok) {
          token = ((await res.json()) as any).backstageIdentity.token;
        }
      } catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 500));
    }
    const call = async (url: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${url}`, {
        headers: { Authorization: `Bearer ${token}`, ...headers },
      });
      await res.text();
      auditIds.push(res.headers.get('audit-id') ?? '');
    };
    // The catalog reads its locations after start-up: wait for the entity.
    for (let i = 0; i < 300; i++) {
      const res = await fetch(
        `${base}/api/catalog/entities/by-name/component/default/payments-api`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      if (res.ok) break;
      await new Promise(r => setTimeout(r, 200));
    }
    await call('/api/catalog/entities/by-name/component/default/payments-api');
    // Client-controlled text carrying the marker, and a forged record.
    await call(
      '/api/catalog/entities/by-query?limit=1&note=isAuditLog&q=%7B%22isAuditLog%22%3Atrue%7D',
      { 'User-Agent': '{"isAuditLog":true,"eventName":"Forged"} isAuditLog' },
    );
    await call('/api/catalog/entities/by-name/component/default/isAuditLog');
    await new Promise(r => setTimeout(r, 500));

    process.kill(-child.pid!, 'SIGTERM');
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => {
        process.kill(-child.pid!, 'SIGKILL');
        resolve();
      }, 20_000);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }, 240_000);

  afterAll(() => {
    if (child && child.exitCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  /** What the container runtime would store: every line of both streams. */
  const lines = () =>
    [...stdout.split('\n'), ...stderr.split('\n')].filter(l => l.length > 0);
  /** The audit records, by what the plugin wrote: whole JSON lines on stdout. */
  const auditLines = () =>
    stdout
      .split('\n')
      .filter(
        l => l.startsWith('{"level":') && l.includes(',"isAuditLog":true,'),
      );

  it('prints each record as one JSON object per line, with the fields the guide maps', () => {
    const records = auditLines().map(l => JSON.parse(l));
    for (const id of auditIds) {
      expect(records.filter(r => r.auditId === id).map(r => r.stage)).toEqual([
        'initiation',
        'completion',
      ]);
    }
    for (const r of records) {
      expect(r.isAuditLog).toBe(true);
      expect(r.message).toBe(`${r.eventName} ${r.stage} ${r.status}`);
      expect(r.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(typeof r.plugin).toBe('string');
      expect(typeof r.auditId).toBe('string');
      expect(r).toHaveProperty('actor');
      expect(r.actor).toHaveProperty('actorId');
    }
    const byName = records.find(
      r => r.auditId === auditIds[0] && r.stage === 'completion',
    );
    expect(byName).toMatchObject({
      level: 'info',
      eventName: 'CatalogEntityFetchByName',
      actor: { actorId: 'user:development/guest' },
      request: { method: 'GET' },
      response: { status: 200 },
    });
    // Ordinary logs are JSON lines too, without the marker field.
    const ordinary = lines().filter(
      l => l.startsWith('{') && !auditLines().includes(l),
    );
    expect(ordinary.length).toBeGreaterThan(5);
    expect(ordinary.some(l => l.includes('"type":"incomingRequest"'))).toBe(
      true,
    );
    for (const l of ordinary) {
      expect(parseObject(l)).not.toHaveProperty('isAuditLog');
    }
  });

  it.each(Object.keys(FILTERS))('%s keeps every audit record', name => {
    const kept = lines().filter(FILTERS[name]);
    for (const line of auditLines()) {
      expect(kept).toContain(line);
    }
  });

  it.each(['openshift-structured', 'vector-remap', 'fluent-bit-lua'])(
    '%s keeps nothing else, not even lines whose client-controlled text carries the marker',
    name => {
      const kept = lines().filter(FILTERS[name]);
      expect(kept).toEqual(auditLines());
      // Clients did put the marker into ordinary lines (access log url and
      // user agent); the root logger renamed it there.
      expect(
        lines().filter(l => /isAudit_Log/.test(l) && !auditLines().includes(l))
          .length,
      ).toBeGreaterThan(0);
    },
  );

  // OpenShift's `.message` is the whole line: the word must not appear in any
  // field of an ordinary line, the access log's `url` and `userAgent` included.
  it("openshift-message-match (the seed's text filter) keeps nothing else either", () => {
    const kept = lines().filter(FILTERS['openshift-message-match']);
    expect(kept).toEqual(auditLines());
  });
});
