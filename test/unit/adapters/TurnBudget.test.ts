// A share of one turn of the event loop: opened by the first work of a turn, closed at the
// loop's check phase, whatever the clock says.
import { describe, expect, it } from 'vitest';
import { TurnBudget } from '../../../src/adapters/TurnBudget.js';

const checkPhase = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TurnBudget', () => {
  it('opens once per turn, measures on its clock, and closes when the loop turns', async () => {
    let now = 100;
    const turn = new TurnBudget(() => now);
    expect(turn.begin()).toBe(true);
    expect(turn.begin()).toBe(false);
    expect(turn.startedAt).toBe(100);
    now = 104.5;
    expect(turn.spent()).toBe(4.5);
    // Microtasks are the same turn.
    await Promise.resolve();
    expect(turn.begin()).toBe(false);
    await checkPhase();
    expect(turn.begin(200)).toBe(true);
    expect(turn.startedAt).toBe(200);
  });

  it('next() resolves once the open turn closed, and opens a turn when none is', async () => {
    const turn = new TurnBudget(() => 0);
    const order: string[] = [];
    const next = turn.next();
    expect(turn.next()).toBe(next);
    void next.then(() => order.push('next'));
    setImmediate(() => order.push('immediate queued after'));
    await Promise.resolve();
    expect(order).toEqual([]);
    await checkPhase();
    expect(order[0]).toBe('next');
    // A new turn, a new promise.
    expect(turn.next()).not.toBe(next);
  });
});
