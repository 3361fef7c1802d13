import { AUDIT_SINK_PIPELINE_KEYS } from '@backstage-audit/plugin-audit-log-node';
import os from 'node:os';
import path from 'node:path';
import { Config } from '@backstage/config';
import { CadfEventMapping } from './auditMap/defaultCadfAuditMap';
import { CadfService } from './cadf/CadfFormat';
import { isCadfAction, isCadfResourceType } from './cadf/taxonomy';
import { CadfEndpoint } from './cadf/types';

/** Where the format's config lives. @public */
export const CADF_FORMAT_CONFIG_KEY = 'auditLog.formats.cadf';

/** `auditLog.formats.cadf`, read and validated. @public */
export interface CadfFormatConfig {
  /** Absolute path of the OpenStack audit map file, when configured. */
  auditMapFile?: string;
  events: Record<string, CadfEventMapping>;
  services: Record<string, CadfService>;
}

function invalid(key: string, message: string): Error {
  return new Error(`Invalid config at ${key}: ${message}`);
}

/**
 * Reads one value with Backstage's typed getter, re-throwing its type errors
 * with the full key: a sink's block may be handed over as a config of its own.
 */
function typed<T>(fullKey: string, key: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw invalid(
      `${fullKey}.${key}`,
      (error as Error).message
        .replace(/ for key '[^']*'/, '')
        .replace(/ at '[^']*'/, ''),
    );
  }
}

function rejectUnknownKeys(
  config: Config,
  fullKey: string,
  known: readonly string[],
): void {
  for (const key of config.keys()) {
    if (!known.includes(key)) {
      throw invalid(
        `${fullKey}.${key}`,
        `unknown key (expected one of ${known.join(', ')})`,
      );
    }
  }
}

function readEndpoints(config: Config, fullKey: string): CadfEndpoint[] {
  const list = config.getOptionalConfigArray('addresses') ?? [];
  return list.map((address, i) => {
    const key = `${fullKey}.addresses[${i}]`;
    rejectUnknownKeys(address, key, ['url', 'name']);
    const url = address.getString('url');
    const name = address.getOptionalString('name');
    return name === undefined ? { url } : { url, name };
  });
}

/**
 * Reads `auditLog.formats.cadf` once, at start-up. A bad value throws an
 * error naming its full key.
 *
 * @public
 */
export function readCadfFormatConfig(root: Config): CadfFormatConfig {
  const base = CADF_FORMAT_CONFIG_KEY;
  const config = root.getOptionalConfig(base);
  if (!config) {
    return { events: {}, services: {} };
  }
  rejectUnknownKeys(config, base, ['auditMapFile', 'events', 'services']);

  const file = config.getOptionalString('auditMapFile');
  const events: Record<string, CadfEventMapping> = {};
  const eventsConfig = config.getOptionalConfig('events');
  for (const eventName of eventsConfig?.keys() ?? []) {
    const key = `${base}.events.${eventName}`;
    const entry = eventsConfig!.getConfig(eventName);
    rejectUnknownKeys(entry, key, ['action', 'targetType']);
    const action = entry.getOptionalString('action');
    const targetType = entry.getOptionalString('targetType');
    if (action !== undefined && !isCadfAction(action)) {
      throw invalid(
        `${key}.action`,
        `'${action}' is not a CADF action (read, read/list, create, update, delete, start, stop, evaluate, ... optionally refined: update/refresh)`,
      );
    }
    if (targetType !== undefined && !isCadfResourceType(targetType)) {
      throw invalid(
        `${key}.targetType`,
        `'${targetType}' is not a CADF resource typeURI (service/..., data/..., compute/..., storage/..., network/...)`,
      );
    }
    events[eventName] = { action, targetType };
  }

  const services: Record<string, CadfService> = {};
  const servicesConfig = config.getOptionalConfig('services');
  for (const pluginId of servicesConfig?.keys() ?? []) {
    const key = `${base}.services.${pluginId}`;
    const entry = servicesConfig!.getConfig(pluginId);
    rejectUnknownKeys(entry, key, ['id', 'name', 'addresses']);
    services[pluginId] = {
      id: entry.getOptionalString('id'),
      name: entry.getOptionalString('name'),
      addresses: entry.has('addresses') ? readEndpoints(entry, key) : undefined,
    };
  }

  return {
    auditMapFile: file === undefined ? undefined : path.resolve(file),
    events,
    services,
  };
}

/** oslo.messaging's notification priorities. @public */
export const OSLO_PRIORITIES = [
  'audit',
  'debug',
  'info',
  'warn',
  'error',
  'critical',
  'sample',
] as const;

/** A notification priority. @public */
export type OsloPriority = (typeof OSLO_PRIORITIES)[number];

/** An `amqp` sink's options, read and validated. @public */
export interface AmqpSinkConfig {
  /** Connection parameters for amqplib; holds the password: never log it. */
  connect: {
    protocol: 'amqp' | 'amqps';
    hostname: string;
    port?: number;
    username?: string;
    password?: string;
    /** As written in the URL's path (amqplib unescapes it); empty for `/`. */
    vhost: string;
    heartbeat: number;
  };
  /** `host:port/vhost`, for log lines: no credentials. */
  endpoint: string;
  exchange: string;
  topic: string;
  priority: OsloPriority;
  publisherId: string;
  durable: boolean;
  declareQueue: boolean;
  connectTimeoutMs: number;
  confirmTimeoutMs: number;
  maxMessageBytes: number;
}

/** Keys of a sink block that belong to the pipeline, not to the sink type. */
/** Keys of a sink block that the pipeline reads. */
const PIPELINE_KEYS = AUDIT_SINK_PIPELINE_KEYS;

/** Keys an `amqp` sink reads. */
export const AMQP_SINK_KEYS = [
  'url',
  'username',
  'password',
  'exchange',
  'topic',
  'priority',
  'publisherId',
  'durable',
  'declareQueue',
  'heartbeatSeconds',
  'connectTimeoutMs',
  'confirmTimeoutMs',
  'maxMessageBytes',
];

function positiveInt(
  config: Config,
  key: string,
  fullKey: string,
  fallback: number,
  min = 1,
): number {
  const value = typed(fullKey, key, () => config.getOptionalNumber(key));
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value < min) {
    throw invalid(`${fullKey}.${key}`, `expected an integer >= ${min}`);
  }
  return value;
}

/** An AMQP name: exchange, topic. Dots separate routing-key words; no wildcards. */
function amqpName(
  config: Config,
  key: string,
  fullKey: string,
  fallback: string,
): string {
  const value =
    typed(fullKey, key, () => config.getOptionalString(key)) ?? fallback;
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(value)) {
    throw invalid(
      `${fullKey}.${key}`,
      `'${value}' must be 1-200 letters, digits, '.', '_', ':' or '-'`,
    );
  }
  return value;
}

/**
 * Reads an `amqp` sink's block (`auditLog.sinks.<name>`). Throws an error
 * naming the full key; never puts the URL or a password in a message.
 *
 * @public
 */
export function readAmqpSinkConfig(
  config: Config,
  fullKey: string,
): { sink: AmqpSinkConfig; unknownKeys: string[] } {
  const unknownKeys = config
    .keys()
    .filter(k => !PIPELINE_KEYS.includes(k) && !AMQP_SINK_KEYS.includes(k))
    .map(k => `${fullKey}.${k}`);
  const urlKey = `${fullKey}.url`;
  const rawUrl = typed(fullKey, 'url', () => config.getOptionalString('url'));
  if (rawUrl === undefined) {
    throw invalid(urlKey, 'required: the broker to publish to');
  }
  const hidden = '(value not shown: it may hold a password)';
  // oslo.messaging's transport URLs list several hosts with commas; amqplib connects to one.
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(rawUrl)?.[1] ?? '';
  if (authority.includes(',')) {
    throw invalid(
      urlKey,
      `several hosts are not supported; give one ${hidden}`,
    );
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw invalid(urlKey, `not a URL ${hidden}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!['amqp', 'amqps', 'rabbit'].includes(scheme) || !url.hostname) {
    throw invalid(
      urlKey,
      `expected amqp://, amqps:// or rabbit:// (oslo.messaging's) and a host ${hidden}`,
    );
  }
  const str = (key: string) =>
    typed(fullKey, key, () => config.getOptionalString(key));
  const bool = (key: string) =>
    typed(fullKey, key, () => config.getOptionalBoolean(key));
  const username =
    str('username') ??
    (url.username ? decodeURIComponent(url.username) : undefined);
  const password =
    str('password') ??
    (url.password ? decodeURIComponent(url.password) : undefined);
  const heartbeat = positiveInt(config, 'heartbeatSeconds', fullKey, 60, 0);
  const vhost = url.pathname.slice(1);
  const priority = str('priority') ?? 'info';
  if (!(OSLO_PRIORITIES as readonly string[]).includes(priority)) {
    throw invalid(
      `${fullKey}.priority`,
      `'${priority}' is not one of ${OSLO_PRIORITIES.join(', ')}`,
    );
  }
  const sink: AmqpSinkConfig = {
    connect: {
      protocol: scheme === 'amqps' ? 'amqps' : 'amqp',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : undefined,
      username,
      password,
      vhost,
      heartbeat,
    },
    endpoint: `${url.host}/${vhost}`,
    exchange: amqpName(config, 'exchange', fullKey, 'openstack'),
    topic: amqpName(config, 'topic', fullKey, 'notifications'),
    priority: priority as OsloPriority,
    publisherId: str('publisherId') ?? `backstage.${os.hostname()}`,
    durable: bool('durable') ?? false,
    declareQueue: bool('declareQueue') ?? true,
    connectTimeoutMs: positiveInt(config, 'connectTimeoutMs', fullKey, 10_000),
    confirmTimeoutMs: positiveInt(config, 'confirmTimeoutMs', fullKey, 30_000),
    maxMessageBytes: positiveInt(
      config,
      'maxMessageBytes',
      fullKey,
      16 * 1024 * 1024,
      1024,
    ),
  };
  return { sink, unknownKeys };
}
