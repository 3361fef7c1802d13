/**
 * Starts the real catalog, scaffolder and permission backends in-process
 * (startTestBackend, in-memory SQLite) with the audit log installed as an
 * adopter installs it, and captures everything the process prints.
 */
import path from 'node:path';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  BackendFeature,
  BackstageCredentials,
  coreServices,
  createBackendModule,
  createServiceFactory,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { catalogLocationsExtensionPoint } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { auditRootLoggerServiceFactory } from '@backstage-audit/plugin-audit-log-backend';
import catalogAuditModule from '@backstage-audit/plugin-catalog-backend-module-audit-log';
import scaffolderAuditModule from '@backstage-audit/plugin-scaffolder-backend-module-audit-log';
import request from 'supertest';
import { assertValidRecords } from './recordSchema';
import type { JsonObject } from '@backstage/types';

export const EXAMPLES = path.resolve(
  __dirname,
  '../../packages/backend/examples',
);
export const DENIED_USER = 'user:default/mallory';

/**
 * The permission decision point. Mocked: the real permission backend refuses
 * the user tokens that startTestBackend's mock auth forwards between plugins
 * ("Direct user requests without a resourceRef are not allowed"), so the
 * decision runs in-process. Plugins still call it exactly as in production;
 * this policy denies one user everything.
 */
export const denyMalloryPermissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory() {
    const decide = (credentials: BackstageCredentials) =>
      (credentials.principal as { userEntityRef?: string }).userEntityRef ===
      DENIED_USER
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW;
    const service: PermissionsService = {
      async authorize(requests, { credentials }) {
        return requests.map(() => ({ result: decide(credentials) })) as never;
      },
      async authorizeConditional(requests, { credentials }) {
        return requests.map(() => ({ result: decide(credentials) })) as never;
      },
    };
    return service;
  },
});

/** The entity kinds the example catalog holds. */
export const CATALOG_RULES = [
  {
    allow: [
      'Component',
      'System',
      'API',
      'Group',
      'User',
      'Location',
      'Template',
    ],
  },
];

/**
 * Lets tests register `file` locations (the default allows only `url`, and
 * this machine has no network to read URLs from). Test-only: a portal that
 * accepts file locations over HTTP would let users read the server's files.
 */
export const allowFileLocations = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'test-file-locations',
  register(reg) {
    reg.registerInit({
      deps: { locations: catalogLocationsExtensionPoint },
      async init({ locations }) {
        locations.setAllowedLocationTypes(['url', 'file']);
      },
    });
  },
});

/**
 * Captures every write to stdout and stderr while a backend runs, and every
 * console call: under Jest, winston's Console transport (the root logger's)
 * writes through `console.log` instead of the process streams.
 */
export class OutputCapture {
  readonly chunks: string[] = [];
  #restore: Array<() => void> = [];

  start(): void {
    // Under Jest workers, console._stdout is a separate buffering stream that
    // winston's Console transport writes to directly.
    const con0 = console as unknown as {
      _stdout?: NodeJS.WritableStream;
      _stderr?: NodeJS.WritableStream;
    };
    const streams = new Set([
      process.stdout,
      process.stderr,
      con0._stdout,
      con0._stderr,
    ]);
    streams.delete(undefined);
    for (const stream of streams as Set<NodeJS.WritableStream>) {
      const original = stream.write.bind(stream);
      const chunks = this.chunks;
      (stream as { write: unknown }).write = function write(
        chunk: unknown,
        ...rest: unknown[]
      ) {
        chunks.push(
          typeof chunk === 'string'
            ? chunk
            : Buffer.from(chunk as Uint8Array).toString('utf8'),
        );
        // Keep the test log readable: audit lines are only captured, not echoed.
        return process.env.AUDIT_TEST_ECHO
          ? (original as (...a: unknown[]) => boolean)(chunk, ...rest)
          : true;
      };
      this.#restore.push(() => {
        (stream as { write: unknown }).write = original;
      });
    }
    const con = console as unknown as Record<
      string,
      (...args: unknown[]) => void
    >;
    for (const method of ['log', 'info', 'warn', 'error', 'debug']) {
      const original = con[method];
      con[method] = (...args: unknown[]) => {
        this.chunks.push(
          `${args.map(a => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`,
        );
        if (process.env.AUDIT_TEST_ECHO) {
          original.apply(console, args);
        }
      };
      this.#restore.push(() => {
        con[method] = original;
      });
    }
  }

  stop(): void {
    this.#restore.forEach(r => r());
    this.#restore = [];
  }

  text(): string {
    return this.chunks.join('');
  }

  /**
   * Every audit record printed so far, in order; fails on a malformed audit
   * line or a record that does not match the published JSON Schema.
   */
  records(): AuditRecord[] {
    const records = this.text()
      .split('\n')
      .filter(line => line.includes('"isAuditLog":true'))
      .map(line => JSON.parse(line) as AuditRecord);
    assertValidRecords(records);
    return records;
  }
}

export interface AuditedBackend {
  server: import('node:http').Server;
  output: OutputCapture;
  /** Records of one auditId or event, in order. */
  records(
    filter?: Partial<Pick<AuditRecord, 'auditId' | 'eventName'>>,
  ): AuditRecord[];
  /** Waits until the records of `auditId` include a completion. */
  completion(auditId: string): Promise<AuditRecord[]>;
  stop(): Promise<void>;
}

export async function startAuditedBackend(
  options: {
    auditLog?: JsonObject;
    /** Extra top-level config, e.g. `{ scaffolder: {...} }`, merged over the defaults. */
    config?: JsonObject;
    features?: BackendFeature[];
    /**
     * Replaces the audit log's feature loader (the way adopters install it)
     * with its parts, for tests that add modules to the audit-log plugin:
     * startTestBackend cannot see a plugin inside a loader.
     */
    auditLogFeatures?: BackendFeature[];
  } = {},
): Promise<AuditedBackend> {
  const output = new OutputCapture();
  output.start();
  try {
    const backend = await startTestBackend({
      features: [
        ...(options.auditLogFeatures ?? [
          import('@backstage-audit/plugin-audit-log-backend'),
        ]),
        catalogAuditModule,
        scaffolderAuditModule,
        auditRootLoggerServiceFactory,
        import('@backstage/plugin-catalog-backend'),
        import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
        import('@backstage/plugin-scaffolder-backend'),
        denyMalloryPermissions,
        allowFileLocations,
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            catalog: {
              rules: CATALOG_RULES,
              locations: [
                { type: 'file', target: path.join(EXAMPLES, 'locations.yaml') },
              ],
            },
            auditLog: options.auditLog ?? {},
            ...options.config,
          },
        }),
        ...(options.features ?? []),
      ],
    });
    const server = backend.server;
    const records = (
      filter: Partial<Pick<AuditRecord, 'auditId' | 'eventName'>> = {},
    ) =>
      output
        .records()
        .filter(
          r =>
            (!filter.auditId || r.auditId === filter.auditId) &&
            (!filter.eventName || r.eventName === filter.eventName),
        );
    return {
      server,
      output,
      records,
      async completion(auditId) {
        for (let i = 0; i < 200; i++) {
          const found = records({ auditId });
          if (found.some(r => r.stage === 'completion')) {
            return found;
          }
          await new Promise(r => setTimeout(r, 25));
        }
        throw new Error(`no completion record for ${auditId}`);
      },
      async stop() {
        try {
          await backend.stop();
        } finally {
          output.stop();
        }
      },
    };
  } catch (error) {
    output.stop();
    throw error;
  }
}

export const alice = () => mockCredentials.user.header('user:default/alice');
export const mallory = () => mockCredentials.user.header(DENIED_USER);
/** No credentials at all (the mock httpAuth would otherwise assume a default user). */
export const nobody = () => mockCredentials.none.header();

/** Waits for the catalog to finish ingesting an entity from the example files. */
export async function waitForEntity(
  server: import('node:http').Server,
  ref: string,
): Promise<void> {
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  for (let i = 0; i < 600; i++) {
    const res = await request(server)
      .get(`/api/catalog/entities/by-name/${kind}/${namespace}/${name}`)
      .set('Authorization', alice());
    if (res.status === 200) {
      return;
    }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`entity ${ref} never appeared in the catalog`);
}
