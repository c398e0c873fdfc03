// The package is ESM; a CommonJS application on a Node that can require() ESM (20.19 and
// later) gets it with require(). Without a `default` export condition, require() failed with
// "No exports main defined", which reads like a broken package.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('require() from CommonJS', () => {
  // Node 20.19+ and 22.12+ (process.features.require_module); earlier ones throw ERR_REQUIRE_ESM.
  const requiresEsm = (process.features as { require_module?: boolean }).require_module === true;

  it.skipIf(!requiresEsm)('loads the package and its subpaths by their public names', () => {
    const script = "const m = require('plugin-seam'); const p = require('plugin-seam/plugin'); const t = require('plugin-seam/testing'); process.stdout.write([typeof m.createRuntime, typeof p.definePlugin, typeof t.checkPlugin].join(' '));";
    const out = execFileSync(process.execPath, ['--no-warnings', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(out).toBe('function function function');
  });
});
