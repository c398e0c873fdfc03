import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { messageOf } from '../../errors.js';
import { assertPluginDefinition } from '../../plugin/definePlugin.js';

/** The plugin `seam bench` measures: where it is and what inputs it takes. */
export interface BenchTarget {
  readonly url: URL;
  /** As the user named it, for the report. */
  readonly specifier: string;
  readonly name: string;
  readonly hasOnFrame: boolean;
  readonly hasOnMessage: boolean;
}

/** The module named on the command line is missing or is not a plugin (`seam bench` exits with 2). */
export class BenchTargetError extends Error {
  override readonly name = 'BenchTargetError';
}

/**
 * Finds the plugin module (a path, relative to `cwd`, or a `file:` URL), imports it and
 * checks its default export is a plugin definition, so a wrong argument is one clear error
 * before any mode starts. The module is imported into this process: inline mode runs it
 * here anyway, and its shape decides the default input (frames if it has `onFrame`).
 */
export async function resolveBenchTarget(specifier: string, cwd: string): Promise<BenchTarget> {
  let path: string;
  try {
    path = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(cwd, specifier);
  } catch (error) {
    throw new BenchTargetError(`"${specifier}" is not a path or a file: URL (${messageOf(error)})`);
  }
  const found = await stat(path).catch(() => undefined);
  if (found === undefined || !found.isFile()) {
    throw new BenchTargetError(`cannot find the plugin module "${specifier}" (no file at ${path})`);
  }
  const url = pathToFileURL(path);
  if (/\.[cm]?tsx?$/.test(path)) {
    throw new BenchTargetError(
      `"${specifier}" is TypeScript: Node 20 cannot import it in a worker or a child process; build it to JavaScript and bench the build output`,
    );
  }
  let namespace: { default?: unknown };
  try {
    namespace = (await import(url.href)) as { default?: unknown };
  } catch (error) {
    throw new BenchTargetError(`cannot import the plugin module "${specifier}": ${messageOf(error)}`);
  }
  if (namespace.default === undefined) {
    throw new BenchTargetError(`"${specifier}" is not a plugin module: it has no default export (export default definePlugin({ ... }))`);
  }
  try {
    assertPluginDefinition(namespace.default);
  } catch (error) {
    throw new BenchTargetError(`"${specifier}" is not a plugin module: ${messageOf(error)}`);
  }
  const definition = namespace.default;
  return {
    url,
    specifier,
    name: definition.name,
    hasOnFrame: definition.onFrame !== undefined,
    hasOnMessage: definition.onMessage !== undefined,
  };
}
