import { createS3Client } from '../s3Client';
import { fetchArchive } from './fetchArchive';

const USAGE = `Usage: backstage-audit-archive fetch --bucket <bucket> --project <project> [--project <project>...]
         --from <ISO time> --to <ISO time> [options]

Writes the archived audit records of the projects whose time is in [from, to)
to stdout as one JSON-lines stream, ordered by record time.

Options:
  --endpoint <url>          S3 endpoint (Swift, Ceph RGW, MinIO); AWS when absent
  --region <region>         default us-east-1
  --force-path-style        path-style URLs (Swift, MinIO)
  --prefix <prefix>         the sink's prefix
  --lookback-hours <n>      hour partitions read before --from (default 1)
  --time-field <path>       where a record's time is (repeatable; default timestamp, then eventTime)
  --access-key-id <id>      read credentials; default: the AWS SDK chain
  --secret-access-key <key> (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, ...).
                            Prefer the environment: flags show up in process lists.

The credentials need s3:ListBucket and s3:GetObject on the prefix: the sink's
write-only account cannot read.`;

class UsageError extends Error {}

const ZONED = /(Z|[+-]\d{2}:?\d{2})$/i;

function parseTime(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || (value.includes('T') && !ZONED.test(value))) {
    throw new UsageError(
      `${flag} must be an ISO-8601 time with a zone (2026-11-24T03:00:00Z), got ${value}`,
    );
  }
  return ms;
}

function parseArgs(argv: string[]) {
  const [command, ...rest] = argv;
  if (command !== 'fetch')
    throw new UsageError(
      command ? `unknown command ${command}` : 'a command is required',
    );
  const multi: Record<string, string[]> = {};
  const flags = new Set<string>();
  const valued = new Set([
    '--endpoint',
    '--region',
    '--bucket',
    '--prefix',
    '--project',
    '--from',
    '--to',
    '--lookback-hours',
    '--time-field',
    '--access-key-id',
    '--secret-access-key',
  ]);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--force-path-style' || name === '--help') {
      flags.add(name);
    } else if (valued.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      (multi[name] ??= []).push(value);
    } else {
      throw new UsageError(`unknown option ${name}`);
    }
  }
  const one = (name: string) => multi[name]?.at(-1);
  const bucket = one('--bucket');
  if (!bucket) throw new UsageError('--bucket is required');
  const projects = multi['--project'] ?? [];
  if (projects.length === 0) throw new UsageError('--project is required');
  const fromMs = parseTime('--from', one('--from'));
  const toMs = parseTime('--to', one('--to'));
  if (toMs <= fromMs) throw new UsageError('--to must be later than --from');
  const lookbackHours = Number(one('--lookback-hours') ?? 1);
  if (
    !Number.isInteger(lookbackHours) ||
    lookbackHours < 0 ||
    lookbackHours > 48
  ) {
    throw new UsageError(
      '--lookback-hours must be a whole number from 0 to 48',
    );
  }
  const accessKeyId = one('--access-key-id');
  const secretAccessKey = one('--secret-access-key');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new UsageError('--access-key-id and --secret-access-key go together');
  }
  return {
    help: flags.has('--help'),
    endpoint: one('--endpoint'),
    region: one('--region') ?? 'us-east-1',
    forcePathStyle: flags.has('--force-path-style'),
    bucket,
    prefix: (one('--prefix') ?? '').replace(/^\/+|\/+$/g, ''),
    projects,
    fromMs,
    toMs,
    lookbackHours,
    timeFields: multi['--time-field'] ?? ['timestamp', 'eventTime'],
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
  };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`backstage-audit-archive: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  const secrets = [
    args.credentials?.secretAccessKey,
    process.env.AWS_SECRET_ACCESS_KEY,
    process.env.AWS_SESSION_TOKEN,
  ].filter((s): s is string => !!s);
  const scrub = (text: string) =>
    secrets.reduce((t, s) => t.split(s).join('***'), text);

  const client = createS3Client(args);
  try {
    const { records, objects } = await fetchArchive({
      client,
      bucket: args.bucket,
      prefix: args.prefix,
      projects: args.projects,
      fromMs: args.fromMs,
      toMs: args.toMs,
      lookbackHours: args.lookbackHours,
      timeFields: args.timeFields,
      write: line =>
        new Promise<void>((resolve, reject) => {
          // Respect backpressure: a window can hold millions of records.
          if (process.stdout.write(`${line}\n`)) resolve();
          else process.stdout.once('drain', resolve).once('error', reject);
        }),
      warn: message =>
        process.stderr.write(`backstage-audit-archive: ${scrub(message)}\n`),
    });
    process.stderr.write(
      `backstage-audit-archive: ${records} records from ${objects} objects\n`,
    );
    return 0;
  } catch (e) {
    const err = e as {
      name?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
    };
    const status = err.$metadata?.httpStatusCode;
    process.stderr.write(
      `backstage-audit-archive: ${scrub(`${err.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}`)}\n`,
    );
    return 1;
  } finally {
    client.destroy();
  }
}

/**
 * Runs `backstage-audit-archive` with the given arguments (without `node` and
 * the script) and sets `process.exitCode`: 0, 1 on a store error, 2 on a usage
 * error. The package's bin calls it; importing this entry point runs nothing.
 *
 * @public
 */
export async function runArchiveCli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`backstage-audit-archive: ${e}\n`);
    process.exitCode = 1;
  }
}
