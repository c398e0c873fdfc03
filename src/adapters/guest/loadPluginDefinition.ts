import { InvalidPlugin, messageOf } from '../../errors.js';
import { assertPluginDefinition } from '../../plugin/definePlugin.js';
import type { PluginDefinition } from '../../plugin/types.js';
import type { PluginModuleRef } from '../Adapter.js';

/**
 * Resolves a plugin module reference to its definition: imports the module and validates
 * its default export. Shared by every guest, so a module is accepted or refused identically
 * in every mode. Rejects with {@link InvalidPlugin} (or the import's own error).
 */
export async function loadPluginDefinition(ref: PluginModuleRef): Promise<PluginDefinition> {
  if ('definition' in ref) {
    assertPluginDefinition(ref.definition);
    return ref.definition;
  }
  let namespace: unknown;
  try {
    namespace = await import(ref.url);
  } catch (error) {
    throw new InvalidPlugin(`cannot import plugin module ${ref.url}: ${messageOf(error)}`, { cause: error });
  }
  const exported = (namespace as { default?: unknown }).default;
  if (exported === undefined) {
    throw new InvalidPlugin(`plugin module ${ref.url} has no default export; export default definePlugin({ ... })`);
  }
  assertPluginDefinition(exported);
  return exported;
}
