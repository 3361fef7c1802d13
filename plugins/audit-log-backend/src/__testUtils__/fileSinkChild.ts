/**
 * A separate process for the file sink's tests of what only a real process
 * shows (`node --import tsx fileSinkChild.ts <mode> <path>`):
 *
 * - `flood`: appends numbered lines (`{"n":0}` ...) in batches, one batch per
 *   event-loop turn, with small `maxBytes` and gzip, until it is killed.
 * - `efbig`: run under `ulimit -f`, so a write past the limit fails with
 *   EFBIG after writing part of its bytes (Node ignores SIGXFSZ). Delivers a
 *   batch whose third line is longer than the limit, then retries with that
 *   line left out, and prints the outcome as JSON.
 */
import type { LoggerService } from '@backstage/backend-plugin-api';
import type { AuditSinkEntry } from '@backstage-audit/plugin-audit-log-node';
import { RotatingFileTransport } from '../sinks/RotatingFileTransport';

const [mode, file] = process.argv.slice(2);

const logger: LoggerService = {
  error: () => {},
  warn: message => process.stderr.write(`${message}\n`),
  info: () => {},
  debug: () => {},
  child: () => logger,
};

function entry(line: string): AuditSinkEntry {
  return { line } as AuditSinkEntry;
}

async function main() {
  if (mode === 'flood') {
    const transport = RotatingFileTransport.create({
      path: file,
      maxBytes: 256 * 1024,
      gzip: true,
      configKey: 'auditLog.sinks.file',
      logger,
    });
    let n = 0;
    const turn = () => {
      let text = '';
      for (let i = 0; i < 200; i++) {
        text += `{"n":${n++},"pad":"${'x'.repeat(100)}"}\n`;
      }
      transport.writeSync(text);
      setImmediate(turn);
    };
    turn();
    return;
  }
  if (mode === 'efbig') {
    const transport = RotatingFileTransport.create({
      path: file,
      maxBytes: 4096,
      gzip: false,
      configKey: 'auditLog.sinks.file',
      logger,
    });
    const a = entry('{"n":"a"}');
    const b = entry('{"n":"b"}');
    const huge = entry(`{"n":"huge","pad":"${'x'.repeat(20_000)}"}`);
    const c = entry('{"n":"c"}');
    let firstError = '';
    try {
      await transport.deliver([a, b, huge, c]);
    } catch (error) {
      firstError = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    // The pipeline retries from the same first entry; here without the line
    // no file can hold, so the retry can succeed.
    await transport.deliver([a, b, c]);
    await transport.close();
    process.stdout.write(JSON.stringify({ firstError }));
  }
}

main().catch(error => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
