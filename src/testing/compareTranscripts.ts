import type { Transcript, TranscriptStep } from './TranscriptRecorder.js';

/** Where two transcripts of the same inputs part. */
export interface TranscriptDivergence {
  /** The first step that differs, in both transcripts. */
  readonly expected: TranscriptStep;
  readonly actual: TranscriptStep;
  /** Labels of the further steps that differ. */
  readonly alsoAt: readonly string[];
}

function text(step: TranscriptStep | undefined): string {
  return step === undefined ? '<missing>' : step.lines.join('\n');
}

/**
 * Compares two transcripts of the same inputs step by step; `undefined` when every step
 * recorded the same lines. Both were recorded from the same input list, so their steps line
 * up by position.
 */
export function compareTranscripts(expected: Transcript, actual: Transcript): TranscriptDivergence | undefined {
  const length = Math.max(expected.steps.length, actual.steps.length);
  let first: TranscriptDivergence | undefined;
  const alsoAt: string[] = [];
  for (let i = 0; i < length; i++) {
    const e = expected.steps[i];
    const a = actual.steps[i];
    if (text(e) === text(a)) continue;
    if (first === undefined) {
      const missing = { label: (e ?? a)?.label ?? `step ${i}`, lines: ['<missing>'] };
      first = { expected: e ?? missing, actual: a ?? missing, alsoAt };
    } else {
      alsoAt.push((e ?? a)?.label ?? `step ${i}`);
    }
  }
  return first;
}
