import { AUDIT_SINK_PIPELINE_KEYS } from '@backstage-audit/plugin-audit-log-node';
import { Config } from '@backstage/config';
import path from 'node:path';
import { KEY_SEGMENT } from './objectKeys';

/**
 * An `s3` sink's settings, read and validated once at start-up from its
 * `auditLog.sinks.<name>` block. Defaults are documented in `config.d.ts`.
 *
 * @public
 */
export interface S3ArchiveConfig {
  bucket: string;
  /** Custom endpoint (Swift, Ceph RGW, MinIO); the AWS default when absent. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Static credentials; absent means the AWS SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Key prefix without leading or trailing slashes; '' for none. */
  prefix: string;
  project: string;
  /** Configured instance name; absent means one generated and kept in the spool directory. */
  instance?: string;
  maxDelaySeconds: number;
  /** Absolute path. */
  spoolDir: string;
  spoolMaxBytes: number;
  batchMaxBytes: number;
  batchMaxRecords: number;
  uploadTimeoutSeconds: number;
  closeTimeoutSeconds: number;
}

/** Keys of a sink block that belong to the pipeline, not to the sink type. */
/** Keys of a sink block that the pipeline reads. */
const PIPELINE_KEYS = AUDIT_SINK_PIPELINE_KEYS;

/** Numeric keys: default, inclusive bounds, whether only integers are valid. */
const NUMBERS = {
  maxDelaySeconds: { default: 60, min: 1, max: 3600, integer: false },
  spoolMaxBytes: {
    default: 256 * 2 ** 20,
    min: 1024,
    max: 2 ** 50,
    integer: true,
  },
  batchMaxBytes: {
    default: 8 * 2 ** 20,
    min: 1024,
    max: 512 * 2 ** 20,
    integer: true,
  },
  batchMaxRecords: { default: 10_000, min: 1, max: 10_000_000, integer: true },
  uploadTimeoutSeconds: { default: 30, min: 1, max: 3600, integer: false },
  closeTimeoutSeconds: { default: 10, min: 0, max: 600, integer: false },
} as const;

const STRINGS = [
  'bucket',
  'endpoint',
  'region',
  'accessKeyId',
  'secretAccessKey',
  'prefix',
  'project',
  'instance',
  'spoolDir',
] as const;
const BOOLEANS = ['forcePathStyle'] as const;
// accessKeyId and secretAccessKey are only ever checked for presence: no
// message below quotes a value that could be a credential.

const KNOWN_KEYS = new Set<string>([
  ...PIPELINE_KEYS,
  ...Object.keys(NUMBERS),
  ...STRINGS,
  ...BOOLEANS,
]);

/**
 * Reads and validates an `s3` sink's block. Every error names the full key
 * (`auditLog.sinks.archive.bucket`) and never repeats a credential.
 *
 * @public
 */
export function readS3ArchiveConfig(
  config: Config,
  configKey: string,
): S3ArchiveConfig {
  const key = (k: string) => `${configKey}.${k}`;
  const fail = (k: string, why: string): never => {
    throw new Error(`Invalid audit log config: ${key(k)} ${why}`);
  };

  const unknown = config.keys().filter(k => !KNOWN_KEYS.has(k));
  if (unknown.length > 0) {
    fail(
      unknown[0],
      `is not a setting of the s3 sink type (known: ${[...KNOWN_KEYS]
        .filter(k => !PIPELINE_KEYS.includes(k))
        .join(', ')})`,
    );
  }

  const str = (k: (typeof STRINGS)[number]): string | undefined => {
    let value: string | undefined;
    try {
      value = config.getOptionalString(k);
    } catch {
      // Config's own message may quote the value; a credential must not be.
      return fail(k, 'must be a string');
    }
    if (value !== undefined && value.trim() === '') {
      fail(k, 'must not be empty');
    }
    return value;
  };
  const num = (k: keyof typeof NUMBERS): number => {
    const spec = NUMBERS[k];
    let value: number | undefined;
    try {
      value = config.getOptionalNumber(k);
    } catch {
      return fail(k, 'must be a number');
    }
    if (value === undefined) return spec.default;
    if (spec.integer && !Number.isInteger(value)) {
      fail(k, `must be a whole number, got ${value}`);
    }
    if (value < spec.min || value > spec.max) {
      fail(k, `must be between ${spec.min} and ${spec.max}, got ${value}`);
    }
    return value;
  };
  const bool = (k: (typeof BOOLEANS)[number], fallback: boolean): boolean => {
    try {
      return config.getOptionalBoolean(k) ?? fallback;
    } catch {
      return fail(k, 'must be true or false');
    }
  };

  const bucket = str('bucket') ?? fail('bucket', 'is required');
  if (bucket.includes('/')) fail('bucket', 'must not contain "/"');

  const endpoint = str('endpoint');
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      fail('endpoint', `must be an http(s) URL, got ${endpoint}`);
    }
  }

  const accessKeyId = str('accessKeyId');
  const secretAccessKey = str('secretAccessKey');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    fail(
      accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey',
      'is required when the other static credential is set (or leave both out for the AWS SDK default credential chain)',
    );
  }

  const prefix = (str('prefix') ?? '').replace(/^\/+|\/+$/g, '');
  if (
    prefix !== '' &&
    prefix.split('/').some(s => !KEY_SEGMENT.test(s) || s === '.' || s === '..')
  ) {
    fail(
      'prefix',
      `must be "/"-separated segments of letters, digits, ".", "_" and "-", got ${prefix}`,
    );
  }

  const segment = (k: 'project' | 'instance', value: string) => {
    if (!KEY_SEGMENT.test(value) || value === '.' || value === '..') {
      fail(k, `must be 1-128 letters, digits, ".", "_" or "-", got ${value}`);
    }
    return value;
  };
  const project = segment(
    'project',
    str('project') ?? fail('project', 'is required'),
  );
  const instanceValue = str('instance');
  const instance =
    instanceValue === undefined
      ? undefined
      : segment('instance', instanceValue);

  const spoolDirValue =
    str('spoolDir') ??
    fail(
      'spoolDir',
      'is required: a directory that outlives the process (a volume), one per sink and replica',
    );

  const batchMaxBytes = num('batchMaxBytes');
  const spoolMaxBytes = num('spoolMaxBytes');
  if (spoolMaxBytes < batchMaxBytes) {
    fail(
      'spoolMaxBytes',
      `must be at least batchMaxBytes (${batchMaxBytes}), got ${spoolMaxBytes}`,
    );
  }

  return {
    bucket,
    endpoint,
    region: str('region') ?? 'us-east-1',
    forcePathStyle: bool('forcePathStyle', false),
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
    prefix,
    project,
    instance,
    maxDelaySeconds: num('maxDelaySeconds'),
    spoolDir: path.resolve(spoolDirValue),
    spoolMaxBytes,
    batchMaxBytes,
    batchMaxRecords: num('batchMaxRecords'),
    uploadTimeoutSeconds: num('uploadTimeoutSeconds'),
    closeTimeoutSeconds: num('closeTimeoutSeconds'),
  };
}
