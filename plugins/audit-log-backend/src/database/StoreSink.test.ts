import net from 'node:net';
import { randomUUID } from 'node:crypto';
import knexFactory, { Knex } from 'knex';
import { TestDatabases } from '@backstage/backend-test-utils';
import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { KnexAuditStore } from './KnexAuditStore';
import { storeSink } from '../__testUtils__/storeSink';

const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });

/**
 * A TCP proxy in front of the real PostgreSQL whose connections we can kill:
 * the database "goes away" exactly as it does when a network path or a
 * server restart drops connections mid-stream.
 */
class KillableProxy {
  #server: net.Server;
  #sockets = new Set<net.Socket>();
  #down = false;
  port = 0;

  constructor(targetPort: number) {
    this.#server = net.createServer(client => {
      if (this.#down) {
        client.destroy();
        return;
      }
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>(r => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  kill(): void {
    this.#down = true;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#down = false;
  }

  async stop(): Promise<void> {
    this.kill();
    await new Promise(r => this.#server.close(r));
  }
}

function record(i: number): AuditRecord {
  return {
    level: 'info',
    message: 'm',
    isAuditLog: true,
    schemaVersion: '1',
    timestamp: new Date(1_700_000_000_000 + i).toISOString(),
    auditId: randomUUID(),
    plugin: 'catalog',
    eventName: 'CatalogEntityFetch',
    stage: 'completion',
    status: 'succeeded',
    actor: { actorId: 'user:default/alice' },
  };
}

const write = (sink: ReturnType<typeof storeSink>, i: number) => {
  sink.write(record(i));
};

async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, 20));
  }
}

describe('the store sink on PostgreSQL', () => {
  let direct: Knex;
  let viaProxy: Knex;
  let proxy: KillableProxy;
  const count = async () =>
    Number((await direct('audit_events').count({ n: '*' }))[0].n);

  beforeEach(async () => {
    direct = await databases.init('POSTGRES_15');
    await KnexAuditStore.fromClient(direct);
    const { database, port } = direct.client.config.connection as {
      database: string;
      port: number;
    };
    proxy = new KillableProxy(port ?? 5432);
    await proxy.start();
    viaProxy = knexFactory({
      client: 'pg',
      connection: {
        host: '127.0.0.1',
        port: proxy.port,
        user: 'postgres',
        database,
      },
      pool: { min: 0, max: 4, acquireTimeoutMillis: 1000 },
      acquireConnectionTimeout: 1000,
    });
  });

  afterEach(async () => {
    await viaProxy.destroy();
    await proxy.stop();
  });

  it('loses nothing when the database connection dies mid-stream, and stores each record once', async () => {
    const sink = storeSink(await KnexAuditStore.fromClient(viaProxy), {
      batchSize: 50,
      flushIntervalMs: 5,
      maxRetryDelayMs: 200,
    });
    const errors = sink.errors;
    for (let i = 0; i < 1000; i++) {
      write(sink, i);
      if (i === 400) proxy.kill(); // mid-stream
      if (i % 50 === 0) await new Promise(r => setImmediate(r));
    }
    await new Promise(r => setTimeout(r, 600));
    const during = sink.stats();
    expect(during.retried).toBeGreaterThan(0);
    expect(during.queued).toBeGreaterThan(0);
    expect(during.dropped).toEqual({});
    expect(errors.length).toBeGreaterThan(0);

    proxy.restore();
    await sink.close();
    expect(await count()).toBe(1000);
    expect(sink.stats()).toMatchObject({
      delivered: 1000,
      queued: 0,
      dropped: {},
    });
  });

  it('holds at most maxQueue records while the database is down and counts every drop', async () => {
    const store = await KnexAuditStore.fromClient(viaProxy);
    proxy.kill();
    const sink = storeSink(store, {
      maxRecords: 100,
      flushIntervalMs: 5,
      maxRetryDelayMs: 100,
    });
    const errors = sink.errors;
    for (let i = 0; i < 250; i++) write(sink, i);
    expect(sink.stats()).toMatchObject({
      queued: 100,
      dropped: { 'queue-full': 150 },
    });
    expect(errors.filter(e => /queue-full/.test(e.message))).toHaveLength(150);
    proxy.restore();
    await sink.close();
    expect(await count()).toBe(100);
    expect(sink.stats()).toMatchObject({
      delivered: 100,
      queued: 0,
      dropped: { 'queue-full': 150 },
    });
  });

  it('keeps every record of two replicas writing at once exactly once, in one consistent order', async () => {
    const otherDb = knexFactory({
      client: 'pg',
      connection: direct.client.config.connection,
    });
    try {
      const a = storeSink(await KnexAuditStore.fromClient(viaProxy), {
        batchSize: 100,
        flushIntervalMs: 1,
      });
      const b = storeSink(await KnexAuditStore.fromClient(otherDb), {
        batchSize: 100,
        flushIntervalMs: 1,
      });
      for (let i = 0; i < 3000; i++) {
        write(i % 2 ? a : b, i % 1500); // same timestamps on both: ties broken by id
        if (i % 200 === 0) await new Promise(r => setImmediate(r));
      }
      await Promise.all([a.close(), b.close()]);
      expect(await count()).toBe(3000);
      const store = await KnexAuditStore.fromClient(direct);
      const pageA: string[] = [];
      let after;
      for (;;) {
        const page = await store.query({ order: 'asc', limit: 500, after });
        pageA.push(...page.items.map(r => r.id));
        if (!page.next) break;
        after = page.next;
      }
      expect(new Set(pageA).size).toBe(3000);
      const again = (await store.query({ order: 'asc', limit: 500 })).items.map(
        r => r.id,
      );
      expect(again).toEqual(pageA.slice(0, 500));
      await until(async () => (await count()) === 3000);
    } finally {
      await otherDb.destroy();
    }
  });
});
