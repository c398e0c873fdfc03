// @ts-check
/**
 * Preloaded (`NODE_OPTIONS=--import=...`) into an isolated plugin's process by
 * `profile.js --child-prof-dir`: Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so this runs
 * the V8 profiler through the inspector and writes `<dir>/child-<pid>.cpuprofile` when the
 * process exits (the teardown SIGTERM becomes a normal exit for that).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import process from 'node:process';

const dir = process.env.BENCH_CHILD_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    // Same-thread inspector sessions answer synchronously, so this works inside 'exit'.
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `child-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on('exit', write);
  process.on('SIGTERM', () => {
    process.exit(0);
  });
}
