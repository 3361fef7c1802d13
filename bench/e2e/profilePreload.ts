/**
 * Loaded with `node --import` into an example backend for profiling: SIGUSR2
 * starts the V8 CPU profiler, the next SIGUSR2 stops it and writes the
 * profile to BENCH_PROFILE_FILE. Only the measured load is profiled, not
 * start-up.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';

const session = new inspector.Session();
let running = false;
process.on('SIGUSR2', () => {
  if (!running) {
    running = true;
    session.connect();
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 200 }, () =>
        session.post('Profiler.start'),
      ),
    );
    return;
  }
  running = false;
  session.post('Profiler.stop', (error, result) => {
    if (!error) {
      fs.writeFileSync(
        process.env.BENCH_PROFILE_FILE!,
        JSON.stringify(result.profile),
      );
    }
    session.disconnect();
  });
});
