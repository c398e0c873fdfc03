/**
 * `plugin-seam/plugin`: the plugin author's entry point. It holds the whole contract and
 * nothing about where a plugin runs.
 */
export { definePlugin } from './definePlugin.js';
export type { FrameView, LogLevel, PluginContext, PluginDefinition, PluginLogger } from './types.js';
export { FrameExpired } from '../errors.js';
