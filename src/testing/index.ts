/**
 * `plugin-seam/testing`: helpers to test plugins and applications against the runtime
 * without sleeps.
 */
export { waitForStatus } from './waitForStatus.js';
export type { HasStatus } from './waitForStatus.js';
