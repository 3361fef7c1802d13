import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A real OpenStack Swift (with its S3 API) started by `../shared/scripts/swift-saio.sh`. */
export interface SwiftSaio {
  endpoint: string;
  region: string;
  bucket: string;
  /** The account admin: can list and read (the investigator). */
  admin: { accessKeyId: string; secretAccessKey: string };
  /** `X-Container-Write` on the bucket only: PutObject, nothing else. */
  writer: { accessKeyId: string; secretAccessKey: string };
  /** Stops the proxy: the store refuses connections (an outage). */
  stopProxy(): Promise<void>;
  /** Starts whatever is down again. */
  start(): Promise<void>;
}

const SCRIPT =
  process.env.SWIFT_SAIO_SCRIPT ??
  path.resolve(__dirname, '../../../../../shared/scripts/swift-saio.sh');

/**
 * Stores of their own, on other ports, for tests that stop a proxy, so that
 * no other test running at the same time sees the outage: `outage` for the
 * transport's outage test, `e2e` for the example backends' end-to-end test.
 */
const PRIVATE_STORES: Record<'outage' | 'e2e', Record<string, string>> = {
  outage: {
    SWIFT_SAIO_DIR: path.join(os.tmpdir(), 'swift-saio-s3-outage'),
    SWIFT_SAIO_PORT: '18080',
    SWIFT_SAIO_OBJECT_PORT: '16200',
    SWIFT_SAIO_CONTAINER_PORT: '16201',
    SWIFT_SAIO_ACCOUNT_PORT: '16202',
    SWIFT_SAIO_MEMCACHE_PORT: '11411',
  },
  e2e: {
    SWIFT_SAIO_DIR: path.join(os.tmpdir(), 'swift-saio-s3-e2e'),
    SWIFT_SAIO_PORT: '28080',
    SWIFT_SAIO_OBJECT_PORT: '26200',
    SWIFT_SAIO_CONTAINER_PORT: '26201',
    SWIFT_SAIO_ACCOUNT_PORT: '26202',
    SWIFT_SAIO_MEMCACHE_PORT: '11511',
  },
};

/**
 * `shared`: the store on the script's default ports (the one `.ci/run`
 * starts), used by tests that leave it running. `outage`, `e2e`: a store of
 * their own (see {@link PRIVATE_STORES}).
 */
export async function startSwiftSaio(
  which: 'shared' | 'outage' | 'e2e',
): Promise<SwiftSaio> {
  const env: NodeJS.ProcessEnv =
    which === 'shared'
      ? { ...process.env }
      : { ...process.env, ...PRIVATE_STORES[which] };
  // Two test files starting the same store at once would race for its
  // ports. `-o`: the servers the script starts must not inherit the lock.
  const lock = path.join(os.tmpdir(), `swift-saio-${which}.start.lock`);
  const script = (...args: string[]) =>
    run('flock', ['-o', lock, 'bash', SCRIPT, ...args], {
      env,
      timeout: 300_000,
    });
  const { stdout } = await script('start');
  const vars = Object.fromEntries(
    stdout
      .split('\n')
      .map(l => /^([A-Z0-9_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(m => [m[1], m[2]]),
  );
  return {
    endpoint: vars.S3_ENDPOINT,
    region: vars.S3_REGION,
    bucket: vars.S3_BUCKET,
    admin: {
      accessKeyId: vars.S3_ACCESS_KEY_ID,
      secretAccessKey: vars.S3_SECRET_ACCESS_KEY,
    },
    writer: {
      accessKeyId: vars.S3_WRITEONLY_ACCESS_KEY_ID,
      secretAccessKey: vars.S3_WRITEONLY_SECRET_ACCESS_KEY,
    },
    stopProxy: async () => {
      await script('stop', 'proxy');
    },
    start: async () => {
      await script('start');
    },
  };
}
