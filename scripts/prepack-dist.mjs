#!/usr/bin/env node
// `npm pack` / `npm publish`: the tarball ships dist/ as it is, and dist/ is not in git, so a
// pack from a clean checkout (or after an edit not yet built) shipped no code or stale code.
// This builds it (`npm run build`) unless every module under src/ already has a compiled
// dist/ file at least as new — the test suite packs the repository while other tests import
// dist/, which a rebuild (it empties dist/ first) would pull from under them.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The first src module whose dist/ file is missing or older, or undefined. */
function staleModule() {
  for (const entry of readdirSync(path.join(root, 'src'), { recursive: true })) {
    const file = String(entry);
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const compiled = path.join(root, 'dist', `${file.slice(0, -'.ts'.length)}.js`);
    let built;
    try {
      built = statSync(compiled).mtimeMs;
    } catch {
      return file;
    }
    if (built < statSync(path.join(root, 'src', file)).mtimeMs) return file;
  }
  return undefined;
}

const stale = staleModule();
if (stale !== undefined) {
  process.stdout.write(`dist/ is not up to date (src/${stale}): npm run build\n`);
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}
