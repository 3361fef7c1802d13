import {
  auditLogSinkTypesServiceRef,
  AuditSinkType,
} from '@backstage-audit/plugin-audit-log-node';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import s3Module from './index';

it('provides the s3 sink type through auditLogSinkTypesServiceRef', async () => {
  let types: AuditSinkType[] = [];
  const probe = createBackendPlugin({
    pluginId: 'probe',
    register(reg) {
      reg.registerInit({
        deps: { sinkTypes: auditLogSinkTypesServiceRef },
        async init({ sinkTypes }) {
          types = sinkTypes;
        },
      });
    },
  });
  const backend = await startTestBackend({ features: [s3Module, probe] });
  await backend.stop();

  expect(types.map(t => t.type)).toEqual(['s3']);
  const [s3] = types;
  expect(s3.deliveryModes).toEqual(['best-effort', 'blocking', 'strict']);
  expect(s3.defaultFormat).toBeUndefined();
  // A sink block is validated before anything touches the disk or the store.
  await expect(
    Promise.resolve().then(() =>
      s3.create({
        name: 'archive',
        configKey: 'auditLog.sinks.archive',
        config: new ConfigReader({
          type: 's3',
          project: 'p',
          spoolDir: '/nonexistent/spool',
        }),
        logger: mockServices.logger.mock(),
        dropped: () => {},
      }),
    ),
  ).rejects.toThrow('auditLog.sinks.archive.bucket is required');
});
