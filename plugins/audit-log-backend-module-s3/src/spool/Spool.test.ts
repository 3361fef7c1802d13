import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Spool } from './Spool';

const keyFor = (b: { first: number; last: number }) => `k/${b.first}-${b.last}`;

describe('Spool recovery', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-s3-spool-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const entries = [1, 2, 3].map(n => ({
    line: `{"n":${n}}`,
    timeMs: 1_700_000_000_000 + n,
  }));

  it('keeps a batch in exactly one place when a crash hit after the batch file was written, before the open file went', async () => {
    const { spool } = await Spool.open({ dir, describe: 'spoolDir' });
    await spool.append(entries);
    const [openName] = (await fs.readdir(dir)).filter(n =>
      n.startsWith('open-'),
    );
    const openBytes = await fs.readFile(path.join(dir, openName));
    const sequenceBefore = await fs.readFile(path.join(dir, 'sequence'));
    const sealed = await spool.seal(keyFor);
    await spool.close();
    // The state of a crash between the batch file's rename and the rest.
    await fs.writeFile(path.join(dir, openName), openBytes);
    await fs.writeFile(path.join(dir, 'sequence'), sequenceBefore);

    const reopened = await Spool.open({ dir, describe: 'spoolDir' });
    expect(reopened.recovered).toBeUndefined();
    expect(reopened.sealed.map(b => [b.key, b.records])).toEqual([
      [sealed!.key, 3],
    ]);
    expect((await fs.readdir(dir)).filter(n => n.startsWith('open-'))).toEqual(
      [],
    );
    await reopened.spool.close();
  });

  it('recovers an open batch, leaving out a torn last line, under its own first number', async () => {
    const { spool } = await Spool.open({ dir, describe: 'spoolDir' });
    await spool.append(entries);
    const first = spool.openBatch!.first;
    await spool.close();
    await fs.appendFile(
      path.join(dir, `open-${first}.lines`),
      '1700000000004 {"n":4',
    ); // no line break: torn

    const reopened = await Spool.open({ dir, describe: 'spoolDir' });
    expect(reopened.recovered).toEqual({
      first,
      entries,
      tornBytes: Buffer.byteLength('1700000000004 {"n":4'),
    });
    const sealed = await reopened.spool.sealRecovered(
      reopened.recovered!,
      keyFor,
    );
    expect([sealed.first, sealed.last]).toEqual([first, first + 2]);
    // The next batch continues after it.
    await reopened.spool.append([{ line: '{"n":5}', timeMs: 1 }]);
    expect(reopened.spool.openBatch!.first).toBe(first + 3);
    await reopened.spool.close();
  });
});
