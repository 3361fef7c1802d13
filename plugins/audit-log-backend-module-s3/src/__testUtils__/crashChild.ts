/**
 * Run as a child process by the restart test: spools entries through a real
 * S3ArchiveTransport whose store is unreachable, says so on stdout, and then
 * waits to be killed with SIGKILL (a crash: no close(), no flush).
 *
 * argv[2]: JSON { config: S3ArchiveConfig, first: number, count: number, timestamp: string }
 */
import { S3ArchiveTransport } from '../S3ArchiveTransport';
import { auditEntry } from './archive';
import { captureLogger } from './captureLogger';

async function main() {
  const { config, first, count, timestamp } = JSON.parse(process.argv[2]);
  const transport = await S3ArchiveTransport.create({
    config,
    configKey: 'auditLog.sinks.archive',
    logger: captureLogger(),
    dropped: () => {},
  });
  const entries = [];
  for (let n = first; n < first + count; n++)
    entries.push(auditEntry(n, { timestamp }));
  await transport.deliver(entries);
  process.stdout.write(`spooled ${transport.instance}\n`);
  setInterval(() => {}, 1000);
}

main().catch(e => {
  process.stderr.write(`${e}\n`);
  process.exit(1);
});
