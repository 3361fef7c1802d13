import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { readAmqpSinkConfig, readCadfFormatConfig } from './config';

const KEY = 'auditLog.sinks.siem';
const PASSWORD = 'canary-pw-9d2f7e';

function sink(data: JsonObject) {
  return readAmqpSinkConfig(new ConfigReader(data), KEY);
}

describe('readAmqpSinkConfig', () => {
  it('applies oslo.messaging defaults', () => {
    const { sink: s, unknownKeys } = sink({
      type: 'amqp',
      delivery: 'best-effort',
      url: `amqp://audit:${PASSWORD}@mq.example.com/`,
    });
    expect(unknownKeys).toEqual([]);
    expect(s).toEqual({
      connect: {
        protocol: 'amqp',
        hostname: 'mq.example.com',
        port: undefined,
        username: 'audit',
        password: PASSWORD,
        vhost: '',
        heartbeat: 60,
      },
      endpoint: 'mq.example.com/',
      exchange: 'openstack',
      topic: 'notifications',
      priority: 'info',
      publisherId: `backstage.${os.hostname()}`,
      durable: false,
      declareQueue: true,
      connectTimeoutMs: 10000,
      confirmTimeoutMs: 30000,
      maxMessageBytes: 16777216,
    });
  });

  it("accepts oslo.messaging's rabbit:// URLs and separate credentials", () => {
    const { sink: s } = sink({
      url: 'rabbit://mq.example.com:5673/audit%2Fvh',
      username: 'svc',
      password: PASSWORD,
      exchange: 'nova',
      topic: 'audit_notifications',
      priority: 'warn',
      publisherId: 'portal.host1',
      durable: true,
      declareQueue: false,
    });
    expect(s.connect).toMatchObject({
      protocol: 'amqp',
      hostname: 'mq.example.com',
      port: 5673,
      username: 'svc',
      password: PASSWORD,
      vhost: 'audit%2Fvh',
    });
    expect(s).toMatchObject({
      endpoint: 'mq.example.com:5673/audit%2Fvh',
      exchange: 'nova',
      topic: 'audit_notifications',
      priority: 'warn',
      durable: true,
      declareQueue: false,
    });
  });

  it.each([
    [{}, `Invalid config at ${KEY}.url: required`],
    [
      { url: `http://u:${PASSWORD}@h/` },
      `Invalid config at ${KEY}.url: expected amqp://`,
    ],
    [
      { url: `not a url ${PASSWORD}` },
      `Invalid config at ${KEY}.url: not a URL`,
    ],
    [
      { url: `rabbit://u:${PASSWORD}@h1:5672,u:${PASSWORD}@h2:5672/` },
      `Invalid config at ${KEY}.url: several hosts are not supported`,
    ],
    [
      { url: 'amqp://h/', exchange: 'a b' },
      `Invalid config at ${KEY}.exchange`,
    ],
    [
      { url: 'amqp://h/', topic: 'notifications.*' },
      `Invalid config at ${KEY}.topic`,
    ],
    [
      { url: 'amqp://h/', priority: 'INFO' },
      `Invalid config at ${KEY}.priority`,
    ],
    [
      { url: 'amqp://h/', confirmTimeoutMs: 0 },
      `Invalid config at ${KEY}.confirmTimeoutMs`,
    ],
    [
      { url: 'amqp://h/', maxMessageBytes: 10 },
      `Invalid config at ${KEY}.maxMessageBytes`,
    ],
    [{ url: 'amqp://h/', durable: 'maybe' }, `${KEY}.durable`],
  ] as Array<[JsonObject, string]>)(
    'refuses %j, naming the key and never the password',
    (data, message) => {
      let error: Error | undefined;
      try {
        sink(data);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).toContain(message);
      expect(error?.message).not.toContain(PASSWORD);
    },
  );

  it('reports keys it does not know, leaving the pipeline its own', () => {
    const { unknownKeys } = sink({
      url: 'amqp://h/',
      type: 'amqp',
      format: 'cadf',
      delivery: 'blocking',
      level: 'info',
      queue: { maxSize: 10 },
      topics: ['a'],
    });
    expect(unknownKeys).toEqual([`${KEY}.topics`]);
  });
});

describe('readCadfFormatConfig', () => {
  const read = (cadf: unknown) =>
    readCadfFormatConfig(
      new ConfigReader({ auditLog: { formats: { cadf } } } as never),
    );

  it('reads overrides, services and the map file path', () => {
    expect(
      read({
        auditMapFile: 'etc/api_audit_map.conf',
        events: {
          CatalogEntityDeletion: { action: 'delete/entity' },
          HttpRequest: { targetType: 'service/portal' },
        },
        services: {
          catalog: {
            id: 'c1',
            name: 'backstage-catalog',
            addresses: [{ url: 'https://p/api/catalog', name: 'public' }],
          },
        },
      }),
    ).toEqual({
      auditMapFile: path.resolve('etc/api_audit_map.conf'),
      events: {
        CatalogEntityDeletion: {
          action: 'delete/entity',
          targetType: undefined,
        },
        HttpRequest: { action: undefined, targetType: 'service/portal' },
      },
      services: {
        catalog: {
          id: 'c1',
          name: 'backstage-catalog',
          addresses: [{ url: 'https://p/api/catalog', name: 'public' }],
        },
      },
    });
    expect(readCadfFormatConfig(new ConfigReader({}))).toEqual({
      events: {},
      services: {},
    });
  });

  it.each([
    [{ auditMap: 'x' }, 'auditLog.formats.cadf.auditMap: unknown key'],
    [
      { events: { X: { action: 'explode' } } },
      "auditLog.formats.cadf.events.X.action: 'explode' is not a CADF action",
    ],
    [
      { events: { X: { action: 'read', target: 'x' } } },
      'auditLog.formats.cadf.events.X.target: unknown key',
    ],
    [
      { events: { X: { targetType: 'catalog/entity' } } },
      "auditLog.formats.cadf.events.X.targetType: 'catalog/entity' is not a CADF resource typeURI",
    ],
    [
      { services: { catalog: { addresses: [{ href: 'x' }] } } },
      'auditLog.formats.cadf.services.catalog.addresses[0].href: unknown key',
    ],
  ])('refuses %j, naming the full key', (cadf, message) => {
    expect(() => read(cadf)).toThrow(message);
  });
});
