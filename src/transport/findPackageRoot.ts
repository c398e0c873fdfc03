import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nearest directory containing (or above) the file `from` — a path or a `file:` URL such
 * as `import.meta.url` — whose package.json is named `packageName`; `undefined` if none is.
 *
 * Why walk up instead of a fixed `../..`: the same module runs as `src/transport/*.ts` under
 * vitest and as `dist/transport/*.js` after the build, and files that live outside the
 * compiled tree (the native addon) must be found from both. Matching the name, not just the
 * first package.json, skips nested package.json files (e.g. a `{"type": "module"}` marker).
 * Never throws: a non-file URL gives `undefined`, unreadable or malformed package.json files
 * are skipped.
 */
export function findPackageRoot(from: string | URL, packageName: string): string | undefined {
  let dir: string;
  try {
    // A string with a scheme is a URL; fileURLToPath rejects every scheme but file:.
    const file = from instanceof URL || /^[a-z][a-z\d+.-]*:\/\//i.test(from) ? fileURLToPath(from) : from;
    dir = path.dirname(path.resolve(file));
  } catch {
    return undefined;
  }
  for (;;) {
    if (readPackageName(path.join(dir, 'package.json')) === packageName) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readPackageName(file: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string') {
      return parsed.name;
    }
  } catch {
    // Missing, unreadable or not JSON: not the package we are looking for.
  }
  return undefined;
}
