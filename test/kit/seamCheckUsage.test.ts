// `seam check` refuses what it cannot check with exit 2 and a clear message (a real process).
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { fixture, seam } from './seamProcess.js';

const cases: readonly (readonly [string, readonly string[], RegExp])[] = [
  ['no module', [], /missing <plugin-module>/],
  ['a missing file', [fixture('does-not-exist')], /cannot read plugin module .*does-not-exist\.mjs: no such file/],
  ['a module that is not a plugin', [fixture('bad-shape')], /is not a plugin module in any mode: plugin "bad-shape": unknown property "onframe"/],
  ['TypeScript', [fileURLToPath(import.meta.url)], /is TypeScript: Node 20 cannot import it in a worker or a child process/],
  ['an unknown mode', [fixture('check-good-echo'), '--modes', 'inline,threaded'], /--modes: unknown mode "threaded"/],
  ['a config that is not JSON', [fixture('check-good-echo'), '--config', '{threshold:1}'], /--config must be JSON/],
];

describe('seam check usage errors', () => {
  // Each case is one short process, mostly start-up: they run side by side.
  for (const [what, args, message] of cases) {
    it.concurrent(`exits 2 on a usage error: ${what}`, async ({ expect }) => {
      const run = await seam(['check', ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    });
  }
});
