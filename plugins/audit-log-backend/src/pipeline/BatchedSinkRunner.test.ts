import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * `batched` stdout in a real child process: records emitted in the last
 * event-loop turn before the process ends must still be on its stdout,
 * whichever way it ends (exit, SIGTERM with no other handler, an uncaught
 * exception). Only a death without exit (SIGKILL) may lose that turn.
 */
const SCRIPT = path.join(__dirname, '..', '__testUtils__', 'batchedChild.ts');

function run(ending: string, records = 50) {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', SCRIPT, ending, String(records)],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const lines = child.stdout
    .split('\n')
    .filter(l => l.includes('"isAuditLog":true'));
  return {
    ids: lines.map(l => JSON.parse(l).auditId as string),
    writes: Number(/writes=(\d+)/.exec(child.stderr)?.[1] ?? NaN),
    signal: child.signal,
    status: child.status,
    /** Set when the child had to be killed at the timeout. */
    timedOut: child.error !== undefined,
  };
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

describe('batched stdout delivery in a real process', () => {
  it('writes the records of one turn with one write', () => {
    const { ids, writes } = run('later', 50);
    expect(ids).toEqual(expected(50));
    expect(writes).toBe(1);
  });

  it('flushes synchronously when the process exits in the same turn', () => {
    expect(run('exit').ids).toEqual(expected(50));
  });

  it('flushes on SIGTERM, and the signal still ends the process', () => {
    const result = run('sigterm');
    expect(result.ids).toEqual(expected(50));
    // Ended by the signal itself, or by the handler of a loader (tsx) that exits.
    expect(result.timedOut).toBe(false);
  });

  it('flushes when an uncaught exception ends the process', () => {
    const result = run('throw');
    expect(result.ids).toEqual(expected(50));
    expect(result.status).not.toBe(0);
  });

  it('loses the open turn only when the process dies without exiting (the stated crash window)', () => {
    const result = run('sigkill');
    expect(result.ids).toEqual([]);
    expect(result.signal).toBe('SIGKILL');
  });
});
