// The API reference in docs/api is generated from the TSDoc by typedoc: it must not drift,
// and typedoc must find no public type that the entry points forget to export.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const committed = path.join(root, 'docs', 'api');

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

describe('API reference (docs/api)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'seam-apidocs-'));
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('matches a fresh typedoc run (run `npm run docs` after changing public TSDoc)', { timeout: 90_000 }, async () => {
    // treatWarningsAsErrors in typedoc.json: an unexported public type fails here.
    await promisify(execFile)(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
      cwd: root,
      timeout: 80_000,
    });
    const fresh = listFiles(out).sort();
    expect(fresh).toEqual(listFiles(committed).sort());
    for (const file of fresh) {
      expect(readFileSync(path.join(out, file), 'utf8'), file).toBe(readFileSync(path.join(committed, file), 'utf8'));
    }
  });
});
