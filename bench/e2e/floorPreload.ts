/**
 * The floor (loaded with `node --import` into an example backend whose audit
 * log is off): the least any audit that writes two records per request can
 * cost. For each request to an audited plugin, a prebuilt record-sized line
 * is written to stdout with one synchronous write when the request arrives,
 * and another when the response ends. No capture, no redaction, no store.
 * The lines come from the file named by BENCH_FLOOR_LINES (two lines, real
 * records built by the pipeline).
 */
import fs from 'node:fs';
import http from 'node:http';

const [initiation, completion] = fs
  .readFileSync(process.env.BENCH_FLOOR_LINES!, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map(line => JSON.parse(line) as object);

const audited = /^\/api\/(catalog|scaffolder)\//;
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function floorEmit(
  this: http.Server,
  event: string,
  ...args: unknown[]
) {
  if (event === 'request') {
    const [req, res] = args as [http.IncomingMessage, http.ServerResponse];
    if (audited.test(req.url ?? '')) {
      fs.writeSync(1, `${JSON.stringify(initiation)}\n`);
      const end = res.end;
      res.end = function floorEnd(this: http.ServerResponse, ...a: unknown[]) {
        fs.writeSync(1, `${JSON.stringify(completion)}\n`);
        return (end as (...x: unknown[]) => http.ServerResponse).apply(this, a);
      } as typeof res.end;
    }
  }
  return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof http.Server.prototype.emit;
