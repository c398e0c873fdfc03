import { InvalidPlugin } from '../errors.js';
import type { PluginDefinition } from './types.js';

const CALLBACKS = ['start', 'onFrame', 'onMessage', 'stop'] as const;

/**
 * Declares a plugin. Export the result as the module's default export; the runtime loads
 * that module in whichever mode the application chooses.
 *
 * It validates the shape eagerly, so a typo (`onframe`) fails when the module loads, not
 * when the first frame arrives. It does not run anything.
 *
 * @example
 * ```ts
 * import { definePlugin } from 'plugin-seam/plugin';
 *
 * export default definePlugin<{ threshold: number }>({
 *   name: 'edge-detector',
 *   async onFrame(frame, ctx) {
 *     const edges = countEdges(frame.data, ctx.config.threshold);
 *     ctx.emit('edges', { seq: frame.seq, edges });
 *   },
 * });
 * ```
 */
export function definePlugin<Config = unknown>(definition: PluginDefinition<Config>): PluginDefinition<Config> {
  assertPluginDefinition(definition);
  return definition;
}

/**
 * Throws {@link InvalidPlugin} unless `value` is a plugin definition. Used on whatever a
 * plugin module exports, in every mode.
 */
export function assertPluginDefinition(value: unknown): asserts value is PluginDefinition {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidPlugin(`a plugin definition must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.name !== 'string' || record.name.length === 0) {
    throw new InvalidPlugin('a plugin definition needs a non-empty string "name"');
  }
  for (const key of CALLBACKS) {
    if (record[key] !== undefined && typeof record[key] !== 'function') {
      throw new InvalidPlugin(`plugin "${record.name}": "${key}" must be a function`);
    }
  }
  const known = new Set<string>(['name', ...CALLBACKS]);
  for (const key of Object.keys(record)) {
    if (!known.has(key)) {
      throw new InvalidPlugin(
        `plugin "${record.name}": unknown property "${key}" (expected name, start, onFrame, onMessage, stop)`,
      );
    }
  }
}
