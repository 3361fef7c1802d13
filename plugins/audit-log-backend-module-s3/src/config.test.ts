import { ConfigReader } from '@backstage/config';
import path from 'node:path';
import { readS3ArchiveConfig } from './config';

const KEY = 'auditLog.sinks.archive';
const minimal = {
  type: 's3',
  bucket: 'logs-repo',
  project: 'portal-a',
  spoolDir: 'spool/archive',
};
// Through JSON, as config files arrive (and dropping keys set to undefined).
const read = (values: Record<string, unknown>) =>
  readS3ArchiveConfig(
    new ConfigReader(JSON.parse(JSON.stringify(values))),
    KEY,
  );

describe('readS3ArchiveConfig', () => {
  it('fills in the documented defaults', () => {
    expect(read(minimal)).toEqual({
      bucket: 'logs-repo',
      endpoint: undefined,
      region: 'us-east-1',
      forcePathStyle: false,
      credentials: undefined,
      prefix: '',
      project: 'portal-a',
      instance: undefined,
      maxDelaySeconds: 60,
      spoolDir: path.resolve('spool/archive'),
      spoolMaxBytes: 256 * 1024 * 1024,
      batchMaxBytes: 8 * 1024 * 1024,
      batchMaxRecords: 10_000,
      uploadTimeoutSeconds: 30,
      closeTimeoutSeconds: 10,
    });
    expect(read({ ...minimal, prefix: '/audit/portals/' }).prefix).toBe(
      'audit/portals',
    );
  });

  it.each([
    [{ bucket: undefined }, `${KEY}.bucket is required`],
    [{ project: undefined }, `${KEY}.project is required`],
    [{ spoolDir: undefined }, `${KEY}.spoolDir is required`],
    [{ project: 'a/b' }, `${KEY}.project must be`],
    [{ instance: 'web 1' }, `${KEY}.instance must be`],
    [{ prefix: 'audit/../x' }, `${KEY}.prefix must be`],
    [{ endpoint: 'ftp://store' }, `${KEY}.endpoint must be an http(s) URL`],
    [
      { maxDelaySeconds: 0 },
      `${KEY}.maxDelaySeconds must be between 1 and 3600`,
    ],
    [
      { maxDelaySeconds: 7200 },
      `${KEY}.maxDelaySeconds must be between 1 and 3600`,
    ],
    [{ maxDelaySeconds: 'soon' }, `${KEY}.maxDelaySeconds must be a number`],
    [{ batchMaxRecords: 1.5 }, `${KEY}.batchMaxRecords must be a whole number`],
    [
      { batchMaxBytes: 4096, spoolMaxBytes: 2048 },
      `${KEY}.spoolMaxBytes must be at least batchMaxBytes`,
    ],
    [
      { forcePathStyle: 'maybe' },
      `${KEY}.forcePathStyle must be true or false`,
    ],
    [
      { maxDelaySecond: 5 },
      `${KEY}.maxDelaySecond is not a setting of the s3 sink type`,
    ],
    [{ accessKeyId: 'AKIA' }, `${KEY}.secretAccessKey is required when`],
  ])('rejects %j naming the full key', (override, message) => {
    expect(() => read({ ...minimal, ...override })).toThrow(message);
  });

  it('never repeats a credential in an error', () => {
    const canary = 'CANARY-s3cr3t-9f2c';
    for (const values of [
      { secretAccessKey: canary },
      { accessKeyId: canary },
      { accessKeyId: 'AKIA', secretAccessKey: { value: canary } },
      { accessKeyId: [canary], secretAccessKey: 'x' },
    ]) {
      let message = '';
      try {
        read({ ...minimal, ...values });
      } catch (e) {
        message = String(e);
      }
      expect(message).toMatch(
        new RegExp(`${KEY}\\.(accessKeyId|secretAccessKey)`),
      );
      expect(message).not.toContain(canary);
    }
  });
});
