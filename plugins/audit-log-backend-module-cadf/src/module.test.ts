import path from 'node:path';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import {
  AuditFormat,
  auditLogFormatsServiceRef,
  auditLogSinkTypesServiceRef,
  AuditSinkType,
} from '@backstage-audit/plugin-audit-log-node';
import type { JsonObject } from '@backstage/types';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import { OPENSTACK_DIR } from '../../../test/openstack/harness';
import cadfModule from './index';
import { httpPair } from './__testUtils__/records';
import { capturingLogger } from './__testUtils__/logger';
import { ConfigReader } from '@backstage/config';

/** Stands in for the pipeline: takes every format and sink type, as it will. */
function consumer(found: {
  formats?: AuditFormat[];
  sinkTypes?: AuditSinkType[];
}) {
  return createBackendPlugin({
    pluginId: 'audit-log',
    register(reg) {
      reg.registerInit({
        deps: {
          formats: auditLogFormatsServiceRef,
          sinkTypes: auditLogSinkTypesServiceRef,
        },
        async init({ formats, sinkTypes }) {
          found.formats = formats;
          found.sinkTypes = sinkTypes;
        },
      });
    },
  });
}

async function start(data: JsonObject) {
  const found: { formats?: AuditFormat[]; sinkTypes?: AuditSinkType[] } = {};
  const backend = await startTestBackend({
    features: [
      cadfModule,
      consumer(found),
      mockServices.rootConfig.factory({ data }),
    ],
  });
  return { found, backend };
}

describe('the module', () => {
  it('provides the cadf format and the amqp sink type', async () => {
    const { found, backend } = await start({
      backend: { baseUrl: 'https://portal.example.com' },
      auditLog: {
        formats: {
          cadf: {
            auditMapFile: path.join(
              OPENSTACK_DIR,
              'maps/backstage_api_audit_map.conf',
            ),
            events: {
              CatalogEntityFetchByName: {
                targetType: 'service/catalog/entity/by-name',
              },
            },
          },
        },
      },
    });
    expect(found.formats?.map(f => f.id)).toEqual(['cadf']);
    expect(
      found.sinkTypes?.map(t => [t.type, t.deliveryModes, t.defaultFormat]),
    ).toEqual([['amqp', ['best-effort', 'blocking', 'strict'], 'cadf']]);
    const [init] = httpPair({
      auditId: 'a-1',
      plugin: 'catalog',
      eventName: 'CatalogEntityFetchByName',
      method: 'GET',
      url: '/api/catalog/entities/by-name/component/default/x',
      status: 200,
    });
    const event = JSON.parse(found.formats![0].render(init)!);
    // The override wins for the type; the map file gives the action (GET on a non-keyword: read).
    expect(event.target).toMatchObject({
      typeURI: 'service/catalog/entity/by-name',
      addresses: [
        { url: 'https://portal.example.com/api/catalog', name: 'public' },
      ],
    });
    expect(event.action).toBe('read');
    await backend.stop();
  });

  it('refuses to start with a bad format config, naming the full key', async () => {
    await expect(
      start({
        auditLog: {
          formats: { cadf: { events: { X: { action: 'explode' } } } },
        },
      }),
    ).rejects.toThrow(
      "Invalid config at auditLog.formats.cadf.events.X.action: 'explode' is not a CADF action",
    );
    await expect(
      start({
        auditLog: { formats: { cadf: { auditMapFile: '/nonexistent.conf' } } },
      }),
    ).rejects.toThrow(
      'Invalid config at auditLog.formats.cadf.auditMapFile: Cannot read the audit map file /nonexistent.conf',
    );
  });

  it("creates a transport per sink from the sink's own block, warning about keys it does not know", async () => {
    const { found, backend } = await start({});
    const [sinkType] = found.sinkTypes!;
    const root = new ConfigReader({
      auditLog: {
        sinks: {
          siem: {
            type: 'amqp',
            url: 'amqp://guest:secret-pw@127.0.0.1:5672/',
            topics: ['x'],
          },
          broken: { type: 'amqp', url: 'http://guest:secret-pw@h/' },
        },
      },
    });
    const logger = capturingLogger();
    const context = (name: string) => ({
      name,
      config: root.getConfig(`auditLog.sinks.${name}`),
      configKey: `auditLog.sinks.${name}`,
      logger,
      dropped: () => undefined,
    });
    const transport = await sinkType.create(context('siem'));
    expect(typeof transport.deliver).toBe('function');
    expect(logger.lines).toEqual([
      'warn Ignoring unknown keys of an amqp sink: auditLog.sinks.siem.topics ',
    ]);
    await transport.close?.();
    expect(() => sinkType.create(context('broken'))).toThrow(
      'Invalid config at auditLog.sinks.broken.url: expected amqp://',
    );
    expect(() => sinkType.create(context('broken'))).not.toThrow('secret-pw');
    await backend.stop();
  });
});
