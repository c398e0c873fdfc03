/**
 * `plugin-seam/testing`: the conformance kit for plugin authors — the runtime's behavioural
 * checks, runnable against any plugin module in every mode, from any test runner
 * ({@link conformanceCases}) or as one call ({@link checkPlugin}; `seam check` on the
 * command line) — and helpers to test plugins and applications without sleeps.
 */
export { checkPlugin } from './checkPlugin.js';
export { conformanceCases } from './conformanceCases.js';
export type { ConformanceCase } from './conformanceCases.js';
export { formatCheckReport } from './formatCheckReport.js';
export { defaultCheckInputs } from './defaultCheckInputs.js';
export { ConformanceError } from './ConformanceError.js';
export type { CheckInput, CheckOptions, CheckProgress, CheckTimeouts, TranscriptSource } from './CheckOptions.js';
export type { CheckCaseResult, CheckKind, CheckReport, TranscriptDifference } from './CheckReport.js';
export { waitForStatus } from './waitForStatus.js';
export type { HasStatus } from './waitForStatus.js';
