/** Command-line options shared by the driver and its children. */
export interface BenchArgs {
  quick: boolean;
  /** Suites to run; all when empty. */
  only: string[];
  /** Where the JSON results go (driver only). */
  out?: string;
}

export function parseArgs(argv: string[] = process.argv.slice(2)): BenchArgs {
  const value = (name: string): string | undefined => {
    const i = argv.findIndex(
      a => a === `--${name}` || a.startsWith(`--${name}=`),
    );
    if (i === -1) {
      return undefined;
    }
    const arg = argv[i];
    return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
  };
  const only = value('only');
  return {
    quick: argv.includes('--quick') || process.env.BENCH_QUICK === '1',
    only: only ? only.split(',').map(s => s.trim()) : [],
    out: value('out'),
  };
}

/** Arguments to pass the same options on to a child process. */
export function childArgs(args: BenchArgs): string[] {
  return args.quick ? ['--quick'] : [];
}
