import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidPlugin } from '../errors.js';
import type { Mode } from '../machines/lifecycleTypes.js';

/** The URL of a plugin module given as a path (relative to the working directory) or a URL. */
export function pluginModuleUrl(module: string | URL): URL {
  if (module instanceof URL) return new URL(module.href);
  if (typeof module !== 'string' || module.length === 0) throw new InvalidPlugin('the plugin module must be a path or a URL');
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !isAbsolute(module)) return new URL(module);
  return pathToFileURL(isAbsolute(module) ? module : resolve(module));
}

/**
 * Checks, before any run, that a `file:` module can be imported where the check will
 * import it: the file exists and is readable, and is not TypeScript when a worker or a
 * child must import it (Node 20 imports only JavaScript there). Rejects with
 * {@link InvalidPlugin} saying which. Other URLs are left to the import itself.
 */
export async function assertPluginModuleReadable(url: URL, modes: readonly Mode[]): Promise<void> {
  if (url.protocol !== 'file:') return;
  const path = fileURLToPath(url);
  try {
    await access(path, constants.R_OK);
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch (error) {
    const reason = (error as { code?: unknown }).code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error);
    throw new InvalidPlugin(`cannot read plugin module ${path}: ${reason}`, { cause: error });
  }
  if (/\.[cm]?tsx?$/.test(path) && modes.some((m) => m !== 'inline')) {
    throw new InvalidPlugin(
      `plugin module ${path} is TypeScript: Node 20 cannot import it in a worker or a child process; build it to JavaScript and check the build output`,
    );
  }
}

/** The query parameter that gives each scenario its own module instance (see `CheckSession.run`). */
export const SCENARIO_PARAM = 'seam-check';

const SCENARIO_TAG = new RegExp(`[?&]${SCENARIO_PARAM}=[\\w.-]+`, 'g');

/** `text` without the scenario tags the kit adds to the module URL, so reports show the module as given. */
export function scrubScenarioTag(text: string): string {
  return text.replace(SCENARIO_TAG, '');
}
