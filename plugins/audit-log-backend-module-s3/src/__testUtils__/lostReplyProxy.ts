import net from 'node:net';

/**
 * A TCP proxy in front of the real Swift (not a mock of S3): it relays every
 * byte both ways, except that the first `cut` successful replies to PUT
 * requests are swallowed and both connections closed. Swift has stored the
 * object by then; the client only loses the reply.
 */
export async function startLostReplyProxy(options: {
  target: URL;
  cut: number;
  /** Listen on this port (default: any free one). */
  port?: number;
}): Promise<{
  endpoint: string;
  /** Request targets of every PUT seen, in order. */
  puts: string[];
  /** Replies swallowed so far. */
  cutCount(): number;
  close(): Promise<void>;
}> {
  const puts: string[] = [];
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer(client => {
    const upstream = net.connect(
      Number(options.target.port),
      options.target.hostname,
    );
    sockets.add(client).add(upstream);
    let currentIsPut = false;
    client.on('data', chunk => {
      // Requests start at chunk boundaries for the SDK's small requests.
      const m = /^([A-Z]+) (\S+) HTTP\/1\.1\r\n/.exec(
        chunk.toString('latin1', 0, 2048),
      );
      if (m) {
        currentIsPut = m[1] === 'PUT';
        if (currentIsPut) puts.push(m[2]);
      }
      upstream.write(chunk);
    });
    upstream.on('data', chunk => {
      if (
        currentIsPut &&
        cuts < options.cut &&
        /^HTTP\/1\.1 2\d\d /.test(chunk.toString('latin1', 0, 16))
      ) {
        cuts += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>(resolve =>
    server.listen(options.port ?? 0, '127.0.0.1', resolve),
  );
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    puts,
    cutCount: () => cuts,
    close: () =>
      new Promise<void>(resolve => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
