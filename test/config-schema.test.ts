/**
 * The example backend's app-config.yaml, validated the way Backstage's config
 * loader validates config: `loadConfigSchema` collects the `configSchema` of
 * the backend package and of every package it depends on (ours compiled from
 * their config.d.ts, Backstage's own from their shipped schemas), merges them
 * with allOf, and `process` validates the config against the result.
 *
 * Two modes: the loader's default, where only our `@propertyNames` lists
 * close the auditLog blocks; and `noUndeclaredProperties`, what
 * `backstage-cli config:check --strict` sets, which closes every declared
 * block of every package. (Without `--strict`, config:check ignores schema
 * errors, and the backend uses the schema only to find secrets.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfigSchema } from '@backstage/config-loader';
import { JsonObject } from '@backstage/types';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..');
const OURS = [
  '@backstage-audit/plugin-audit-log-backend',
  '@backstage-audit/plugin-scaffolder-backend-module-audit-log',
];

type Schema = Awaited<ReturnType<typeof loadConfigSchema>>;

describe.each([
  ['the loader default', false],
  ['config:check --strict', true],
])(
  'config schema of the packages, as the config loader merges it (%s)',
  (_mode, strict) => {
    let schema: Schema;
    const appConfig = parse(
      fs.readFileSync(path.join(ROOT, 'app-config.yaml'), 'utf8'),
    ) as JsonObject;

    beforeAll(async () => {
      schema = await loadConfigSchema({
        dependencies: [],
        packagePaths: [
          path.join(ROOT, 'packages/backend/package.json'),
          // A package adding a sink type and a format, declaring their keys.
          path.join(__dirname, 'support/config-extension/package.json'),
        ],
        noUndeclaredProperties: strict,
      });
    }, 120_000);

    /** app-config.yaml with `patch` deep-merged into its auditLog block. */
    function withAuditLog(patch: JsonObject): JsonObject {
      const merge = (a: any, b: any): any =>
        b && typeof b === 'object' && !Array.isArray(b)
          ? Object.fromEntries(
              [...new Set([...Object.keys(a ?? {}), ...Object.keys(b)])].map(
                k => [k, k in b ? merge(a?.[k], b[k]) : a[k]],
              ),
            )
          : b;
      return { ...appConfig, auditLog: merge(appConfig.auditLog, patch) };
    }

    /** The per-package schemas the loader collected. */
    const collected = () =>
      schema.serialize().schemas as unknown as Array<{
        packageName: string;
        value: unknown;
      }>;

    const validate = (data: JsonObject) =>
      schema.process([{ data, context: 'app-config.yaml' }]);

    function errorOf(data: JsonObject): string {
      try {
        validate(data);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    }

    it("includes each of our packages' schema, compiled from its config.d.ts", () => {
      const packages = collected().map(s => s.packageName);
      for (const name of OURS) {
        expect(packages).toContain(name);
      }
      // Backstage's own packages are in the merge too.
      expect(packages).toContain('@backstage/plugin-scaffolder-backend');
      expect(packages).toContain('@backstage/backend-defaults');
    });

    it("validates the example backend's app-config.yaml", () => {
      expect(appConfig.auditLog).toBeDefined();
      expect(() => validate(appConfig)).not.toThrow();
    });

    it('validates every documented auditLog key with its documented default', () => {
      const everything: JsonObject = {
        enabled: true,
        plugins: ['catalog', 'scaffolder'],
        trustProxy: ['loopback', '10.0.0.0/8'],
        ignore: { methods: ['HEAD'], paths: ['/api/*/.backstage/'] },
        events: { include: [], exclude: [], responseBody: [] },
        levels: { default: 'info', events: { CatalogEntityFetch: 'debug' } },
        body: { maxBytes: 65536 },
        errors: { includeStack: false },
        redaction: {
          keys: ['x-custom'],
          keyPattern: 'password|secret',
          queryParams: ['token', 'access_token', 'api_key'],
        },
        stdout: { enabled: true, level: 'info' },
        store: {
          enabled: true,
          retention: { days: 365, frequencyMinutes: 60 },
          maxQueue: 50000,
          batchSize: 500,
          flushIntervalMs: 50,
        },
        scaffolder: { taskLifecycle: true, parameterMaxLength: 256 },
      };
      expect(() =>
        validate({ ...appConfig, auditLog: everything }),
      ).not.toThrow();
    });

    it.each([
      [{ stdout: { levle: 'info' } }, 'levle', '/auditLog/stdout'],
      [
        { scaffolder: { taskLifecyle: false } },
        'taskLifecyle',
        '/auditLog/scaffolder',
      ],
      [{ enabeld: false }, 'enabeld', '/auditLog'],
      [
        { store: { retention: { dayz: 30 } } },
        'dayz',
        '/auditLog/store/retention',
      ],
      [
        { redaction: { queryParam: ['sig'] } },
        'queryParam',
        '/auditLog/redaction',
      ],
    ] as Array<[JsonObject, string, string]>)(
      'rejects the unknown key in %j, naming it',
      (patch, key, at) => {
        const message = errorOf(withAuditLog(patch));
        expect(message).toContain('Config validation failed');
        expect(message).toContain(`propertyName=${key} } at ${at}`);
      },
    );

    it('rejects a mistyped value, naming its key', () => {
      expect(errorOf(withAuditLog({ store: { batchSize: 'many' } }))).toContain(
        'must be number { type=number } at /auditLog/store/batchSize',
      );
      expect(
        errorOf(withAuditLog({ scaffolder: { taskLifecycle: 'nope' } })),
      ).toContain(
        'must be boolean { type=boolean } at /auditLog/scaffolder/taskLifecycle',
      );
    });

    it('leaves sink and format blocks open for the keys their types and packages declare', () => {
      expect(() =>
        validate(
          withAuditLog({
            sinks: {
              archive: {
                type: 's3',
                bucket: 'audit',
                prefix: 'portal/',
                any: 1,
              },
              bus: {
                type: 'amqp',
                url: 'amqp://127.0.0.1',
                exchange: 'openstack',
              },
            },
            formats: {
              // cadf's block is its package's (the fixture's): only its keys.
              cadf: { observerId: 'portal' },
              // A format no package declares keys for: open.
              custom: { template: '{{record}}', anything: 1 },
            },
          }),
        ),
      ).not.toThrow();
    });

    it("merges another package's sink and format keys: their types are checked, and secrets marked", () => {
      const data = withAuditLog({
        sinks: { cold: { type: 's3', bucket: { name: 'x' } } },
      });
      expect(errorOf(data)).toContain(
        'must be string { type=string } at /auditLog/sinks/cold/bucket',
      );
      const [processed] = schema.process(
        [
          {
            data: withAuditLog({
              sinks: {
                // The s3 module's keys (the example backend installs it).
                cold: {
                  type: 's3',
                  bucket: 'audit-bucket-x',
                  secretAccessKey: 'canary-s3-secret',
                },
              },
              formats: { cadf: { observerId: 'portal' } },
            }),
            context: 'app-config.yaml',
          },
        ],
        { visibility: ['secret'] },
      );
      // What the backend's secret enumerator finds (and redacts from logs).
      expect(JSON.stringify(processed.data)).toContain('canary-s3-secret');
      expect(JSON.stringify(processed.data)).not.toContain('audit-bucket-x');
    });

    it('closes each auditLog block with exactly the keys our packages declare in it', () => {
      const ours = collected()
        .filter(s => OURS.includes(s.packageName))
        .map(s => s.value);
      // Every object schema of ours that lists its property names, by path.
      const lists = new Map<string, string[]>();
      const declared = new Map<string, Set<string>>();
      const walk = (node: any, at: string) => {
        if (!node || typeof node !== 'object') return;
        if (node.propertyNames?.enum) {
          lists.set(at, node.propertyNames.enum);
        }
        for (const [key, child] of Object.entries(node.properties ?? {})) {
          declared.set(at, (declared.get(at) ?? new Set()).add(key));
          walk(child, `${at}/${key}`);
        }
      };
      ours.forEach(s => walk(s, ''));
      // Two packages add to auditLog; only the backend closes it, with both's keys.
      expect([...lists.keys()].sort()).toEqual(
        [
          '/auditLog',
          '/auditLog/body',
          '/auditLog/errors',
          '/auditLog/events',
          '/auditLog/ignore',
          '/auditLog/levels',
          '/auditLog/redaction',
          '/auditLog/scaffolder',
          '/auditLog/stdout',
          '/auditLog/store',
          '/auditLog/store/retention',
        ].sort(),
      );
      for (const [at, names] of lists) {
        expect({ at, names: [...names].sort() }).toEqual({
          at,
          names: [...(declared.get(at) ?? [])].sort(),
        });
      }
    });
  },
);
