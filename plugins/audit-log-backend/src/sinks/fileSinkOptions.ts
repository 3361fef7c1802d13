import path from 'node:path';
import type { Config } from '@backstage/config';
import { AUDIT_SINK_PIPELINE_KEYS } from '@backstage-audit/plugin-audit-log-node';

/** A file sink's own settings, validated. @public */
export interface FileSinkOptions {
  /** Absolute path of the live file (a relative `path` is resolved against the working directory). */
  path: string;
  /** Rotate before a line would take the live file past this many bytes. */
  maxBytes?: number;
  /** Rotate a non-empty live file this long (ms) after its first line. */
  maxAgeMs?: number;
  /** Rotated files kept; older ones are deleted. Undefined keeps all. */
  keep?: number;
  /** Compress rotated files in the background. */
  gzip: boolean;
}

const FILE_KEYS = ['path', 'rotate', 'gzip'];
const ROTATE_KEYS = ['maxBytes', 'maxAgeMinutes', 'keep'];

function invalid(key: string, what: string): Error {
  return new Error(`Invalid config at ${key}: ${what}`);
}

function rejectUnknown(
  config: Config,
  key: string,
  known: readonly string[],
): void {
  for (const name of config.keys()) {
    if (!known.includes(name)) {
      throw invalid(
        `${key}.${name}`,
        `unknown key; a file sink takes ${FILE_KEYS.join(', ')} and rotate.{${ROTATE_KEYS.join(', ')}}`,
      );
    }
  }
}

/** A number as YAML or an environment substitution gives it. */
function readNumber(config: Config, name: string, key: string) {
  const value = config.getOptional(name);
  if (value === undefined) {
    return undefined;
  }
  const number =
    typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0) {
    throw invalid(
      `${key}.${name}`,
      `expected a positive number, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function readInteger(config: Config, name: string, key: string) {
  const value = readNumber(config, name, key);
  if (value !== undefined && !Number.isInteger(value)) {
    throw invalid(
      `${key}.${name}`,
      `expected a positive integer, got ${value}`,
    );
  }
  return value;
}

/**
 * Reads and validates the keys of a `type: file` block (`configKey` is the
 * block's full key). Every error names the full key; keys that neither the
 * pipeline nor the file sink knows are refused, so a typo (`maxbytes`) fails
 * start-up instead of silently never rotating.
 *
 * @public
 */
export function readFileSinkOptions(
  config: Config,
  configKey: string,
): FileSinkOptions {
  rejectUnknown(config, configKey, [...AUDIT_SINK_PIPELINE_KEYS, ...FILE_KEYS]);

  const rawPath = config.getOptional('path');
  if (typeof rawPath !== 'string' || rawPath.trim() === '') {
    throw invalid(
      `${configKey}.path`,
      rawPath === undefined
        ? 'a file sink needs a path'
        : `expected a file path, got ${JSON.stringify(rawPath)}`,
    );
  }

  const rotateKey = `${configKey}.rotate`;
  const rawRotate = config.getOptional('rotate');
  let rotate: Config | undefined;
  if (rawRotate !== undefined) {
    if (
      typeof rawRotate !== 'object' ||
      rawRotate === null ||
      Array.isArray(rawRotate)
    ) {
      throw invalid(
        rotateKey,
        `expected an object with ${ROTATE_KEYS.join(', ')}`,
      );
    }
    rotate = config.getConfig('rotate');
    rejectUnknown(rotate, rotateKey, ROTATE_KEYS);
  }
  const maxBytes = rotate && readInteger(rotate, 'maxBytes', rotateKey);
  const maxAgeMinutes =
    rotate && readNumber(rotate, 'maxAgeMinutes', rotateKey);
  const keep = rotate && readInteger(rotate, 'keep', rotateKey);
  if (rotate && maxBytes === undefined && maxAgeMinutes === undefined) {
    throw invalid(
      rotateKey,
      'set maxBytes, maxAgeMinutes or both; without them the file never rotates',
    );
  }

  const gzip = config.getOptional('gzip') ?? false;
  if (typeof gzip !== 'boolean') {
    throw invalid(
      `${configKey}.gzip`,
      `expected true or false, got ${JSON.stringify(gzip)}`,
    );
  }
  if (gzip && !rotate) {
    throw invalid(
      `${configKey}.gzip`,
      'gzip compresses rotated files; set rotate.maxBytes or rotate.maxAgeMinutes too',
    );
  }

  return {
    path: path.resolve(rawPath),
    maxBytes,
    maxAgeMs: maxAgeMinutes === undefined ? undefined : maxAgeMinutes * 60_000,
    keep,
    gzip,
  };
}
