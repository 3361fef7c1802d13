import http from 'node:http';
import { percentile } from '../lib/stats';

export interface OpenLoopRun {
  rate: number;
  sent: number;
  completed: number;
  errors: number;
  /** Latencies in ms, each from the request's scheduled send time. */
  p50: number;
  p99: number;
  /** Every successful request's latency (ms). */
  latencies: number[];
}

/**
 * Open-loop load at a fixed rate: requests evenly spaced in time, each sent
 * at its scheduled time whether or not earlier ones have answered, its
 * latency timed from that schedule (so a late send counts as waiting, and
 * queueing is not hidden as closed-loop tools hide it).
 */
export async function openLoop(options: {
  url: string;
  headers: Record<string, string>;
  rate: number;
  seconds: number;
  /** A keep-alive agent to reuse across runs; one of its own otherwise. */
  agent?: http.Agent;
}): Promise<OpenLoopRun> {
  const agent =
    options.agent ?? new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(options.url);
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];

  const send = (scheduled: number) =>
    new Promise<void>(resolve => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers: options.headers,
          agent,
        },
        res => {
          res.resume();
          res.on('end', () => {
            if ((res.statusCode ?? 500) < 400) {
              latencies.push(performance.now() - scheduled);
            } else {
              errors++;
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });

  await new Promise<void>(resolve => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        pending.push(send(start + sent * interval));
        sent++;
      }
      if (sent >= total) {
        resolve();
        return;
      }
      // Timers fire up to ~1 ms late; the last stretch is spun on
      // setImmediate (on the driver's own CPU) to send on time.
      const wait = start + sent * interval - performance.now();
      if (wait > 2) {
        setTimeout(tick, wait - 1.5);
      } else {
        setImmediate(tick);
      }
    };
    tick();
  });
  await Promise.all(pending);
  if (!options.agent) {
    agent.destroy();
  }
  return {
    rate: options.rate,
    sent,
    completed: latencies.length,
    errors,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    latencies,
  };
}
