// The commands of the lifecycle model, their fast-check arbitraries per mode, and a parser
// for their printed form (so a counterexample fast-check prints can be pasted into
// regressions.ts as it is). Every command acts, lets queued work run, then checks every
// invariant (ModelSystem.check).
//
// What a mode cannot do exactly:
// - inline: nothing contains the plugin. An uncaught error or `process.exit` would end the
//   host (the test runner), and a synchronous hang would block it, so `crash`, `kill` and
//   `freeze` are not generated; the inline hang is the input that never settles (`send(hang)`,
//   caught by the input budget), and inline has no heartbeat.
// - embedded: a worker has no process of its own: no SIGKILL or SIGSTOP. `crash(exit…)`
//   ends the worker thread (the nearest thing), and `freeze` blocks it in `Atomics.wait` on
//   a shared cell (it stops beating) until `thaw`.
// - isolated: `kill` is a real SIGKILL and `freeze(signal)` a real SIGSTOP (SIGCONT on
//   `thaw`); its pid comes from the plugin's `hello` output.
import fc from 'fast-check';
import { from } from 'rxjs';
import type { Mode } from 'plugin-seam';
import { frame } from '../conformance/harness.js';
import type { InputOutcome } from './CallTracker.js';
import { MODEL_TIMEOUTS } from './ModelSystem.js';
import type { ModelSystem } from './ModelSystem.js';

/** The model keeps no state of its own: what it predicts, it reads off the real system. */
export type Model = object;
export type ModelCommand = fc.AsyncCommand<Model, ModelSystem>;

type SendOp = 'echo' | 'throw' | 'emit' | 'hang' | 'slow';
type CrashHow = 'throw' | 'exit0' | 'exit3';
type CrashWhen = 'now' | 'idle' | 'frame' | 'stop';
type StopArm = 'hang' | 'throw' | 'late' | CrashHow;
type LateWhen = 'after-reply' | 'after-end';
type FreezeHow = 'input' | 'idle' | 'signal';

abstract class Command implements ModelCommand {
  check(): boolean {
    return true;
  }

  async run(_model: Model, r: ModelSystem): Promise<void> {
    r.phase = this.toString();
    await this.act(r);
    await r.settle();
    r.check();
  }

  abstract act(r: ModelSystem): void | Promise<void>;
  abstract toString(): string;
}

/**
 * Sends one model-plugin message; `forbidden` are the outcomes this message can never have;
 * `blocks`: once begun, it holds its generation (nothing after it runs, a stop waits).
 */
function send(r: ModelSystem, label: string, message: Record<string, unknown>, forbidden: readonly InputOutcome[], blocks = false): void {
  const tag = r.nextTag();
  r.calls.message(label, tag, r.p.send({ ...message, tag }), forbidden);
  if (blocks) r.blocking.add(tag);
}

class Start extends Command {
  act(r: ModelSystem): void {
    r.calls.control('start', r.p.start(), MODEL_TIMEOUTS.start);
  }
  toString(): string {
    return 'start';
  }
}

class Run extends Command {
  act(r: ModelSystem): void {
    // No deadline of its own: from a failure it waits for the next generation to run.
    r.calls.control('run', r.p.run(), undefined);
  }
  toString(): string {
    return 'run';
  }
}

class Pause extends Command {
  act(r: ModelSystem): void {
    r.calls.control('pause', r.p.pause(), 0);
  }
  toString(): string {
    return 'pause';
  }
}

class Stop extends Command {
  act(r: ModelSystem): void {
    r.calls.control('stop', r.p.stop(), MODEL_TIMEOUTS.stop);
  }
  toString(): string {
    return 'stop';
  }
}

class Send extends Command {
  constructor(readonly op: SendOp) {
    super();
  }
  act(r: ModelSystem): void {
    const label = this.toString();
    switch (this.op) {
      case 'echo':
        send(r, label, { op: 'echo', value: 1 }, ['failed']);
        return;
      case 'throw':
        send(r, label, { op: 'throw' }, ['done']);
        return;
      case 'emit':
        send(r, label, { op: 'emit', channel: 'x', values: [1, 2, 3] }, ['failed']);
        return;
      case 'hang':
        send(r, label, { op: 'hang' }, ['done', 'failed'], true);
        return;
      case 'slow':
        send(r, label, { op: 'slow', ms: 20 }, ['failed']);
        return;
    }
  }
  toString(): string {
    return `send(${this.op})`;
  }
}

class Frames extends Command {
  constructor(
    readonly count: number,
    readonly poison: boolean,
  ) {
    super();
  }
  act(r: ModelSystem): void {
    const frames = Array.from({ length: this.count }, (_, i) => frame({ format: this.poison && i === 0 ? 'poison' : 'gray' }));
    r.calls.frames(this.toString(), r.p.connect(from(frames)), this.count);
  }
  toString(): string {
    return `frames(${this.count}${this.poison ? ' poison' : ''})`;
  }
}

class Tick extends Command {
  constructor(readonly ms: number) {
    super();
  }
  act(r: ModelSystem): void {
    r.clock.increment(this.ms);
  }
  toString(): string {
    return `tick(${this.ms})`;
  }
}

/**
 * Lets real time pass with the clock still: waits until the instance made no progress for
 * ~25 ms (a crash being detected, a slow reply, late output), bounded.
 */
class Idle extends Command {
  act(r: ModelSystem): Promise<void> {
    return r.quiesce(25, 1_000);
  }
  toString(): string {
    return 'idle';
  }
}

/** Moves the clock past every deadline; a frozen generation must be ended by then. */
class Expire extends Command {
  act(r: ModelSystem): Promise<void> {
    return r.expire();
  }
  toString(): string {
    return 'expire';
  }
}

/** Ends the plugin's thread or process from inside, at a chosen point (out of thread only). */
class Crash extends Command {
  constructor(
    readonly how: CrashHow,
    readonly when: CrashWhen,
  ) {
    super();
  }
  act(r: ModelSystem): void {
    send(r, this.toString(), { op: 'crash', how: this.how, when: this.when }, this.when === 'now' ? ['done', 'failed'] : ['failed'], this.when === 'now');
  }
  toString(): string {
    return `crash(${this.how}@${this.when})`;
  }
}

/** Isolated: SIGKILL of the current generation's process. */
class Kill extends Command {
  act(r: ModelSystem): Promise<void> {
    return r.kill();
  }
  toString(): string {
    return 'kill';
  }
}

/** Stops the plugin from beating: blocked in an input or while idle (embedded), or SIGSTOP (isolated). */
class Freeze extends Command {
  constructor(readonly how: FreezeHow) {
    super();
  }
  act(r: ModelSystem): void | Promise<void> {
    if (this.how === 'signal') return r.sigstop();
    send(r, this.toString(), { op: 'freeze', during: this.how }, ['failed'], this.how === 'input');
  }
  toString(): string {
    return `freeze(${this.how})`;
  }
}

class Thaw extends Command {
  act(r: ModelSystem): void {
    r.thaw();
  }
  toString(): string {
    return 'thaw';
  }
}

/** Makes the generation's `stop` hang, throw, emit late, or end the plugin. */
class ArmStop extends Command {
  constructor(readonly how: StopArm) {
    super();
  }
  act(r: ModelSystem): void {
    send(r, this.toString(), { op: 'arm-stop', how: this.how }, ['failed']);
  }
  toString(): string {
    return `armStop(${this.how})`;
  }
}

/** Makes the plugin emit after its input settled, or after its generation ended. */
class Late extends Command {
  constructor(readonly when: LateWhen) {
    super();
  }
  act(r: ModelSystem): void {
    send(r, this.toString(), { op: 'late', when: this.when }, ['failed']);
  }
  toString(): string {
    return `late(${this.when})`;
  }
}

/** A burst of outputs and log lines (and, isolated, stdout) from one input. */
class Flood extends Command {
  constructor(readonly count: number) {
    super();
  }
  act(r: ModelSystem): void {
    send(r, this.toString(), { op: 'flood', count: this.count }, ['failed']);
  }
  toString(): string {
    return `flood(${this.count})`;
  }
}

/** `arbitrary` listed `weight` times: fc.commands picks uniformly among its arbitraries. */
function weighted(arbitrary: fc.Arbitrary<ModelCommand>, weight: number): fc.Arbitrary<ModelCommand>[] {
  return Array.from({ length: weight }, () => arbitrary);
}

/** The command arbitraries of `mode`, weighted so that inputs and deadlines are frequent. */
export function modelCommands(mode: Mode): fc.Arbitrary<ModelCommand>[] {
  const stopArms: StopArm[] = mode === 'inline' ? ['hang', 'throw', 'late'] : ['hang', 'throw', 'late', 'exit0', 'exit3'];
  const common: fc.Arbitrary<ModelCommand>[] = [
    ...weighted(fc.constant(new Start()), 2),
    ...weighted(fc.constant(new Run()), 2),
    fc.constant(new Pause()),
    fc.constant(new Stop()),
    fc.constantFrom<SendOp>('echo', 'throw', 'emit', 'hang', 'slow').map((op) => new Send(op)),
    ...weighted(fc.constantFrom<SendOp>('echo', 'emit', 'slow').map((op) => new Send(op)), 2),
    ...weighted(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.boolean()).map(([n, poison]) => new Frames(n, poison)), 2),
    fc.integer({ min: 0, max: 3_000 }).map((ms) => new Tick(ms)),
    fc.integer({ min: 0, max: 600 }).map((ms) => new Tick(ms)),
    ...weighted(fc.constant(new Expire()), 2),
    fc.constant(new Idle()),
    fc.constantFrom(...stopArms).map((how) => new ArmStop(how)),
    fc.constantFrom<LateWhen>('after-reply', 'after-end').map((when) => new Late(when)),
    fc.integer({ min: 50, max: 1_500 }).map((n) => new Flood(n)),
  ];
  if (mode === 'inline') return common;
  const contained: fc.Arbitrary<ModelCommand>[] = [
    fc.tuple(fc.constantFrom<CrashHow>('throw', 'exit0', 'exit3'), fc.constantFrom<CrashWhen>('now', 'idle', 'frame', 'stop')).map(([how, when]) => new Crash(how, when)),
    fc.constant(new Thaw()),
  ];
  if (mode === 'embedded') contained.push(...weighted(fc.constantFrom<FreezeHow>('input', 'idle').map((how) => new Freeze(how)), 2));
  else contained.push(...weighted(fc.constant(new Freeze('signal')), 2), fc.constant(new Kill()));
  return [...common, ...contained];
}

/** An error in a written command list (regressions.ts). */
export class UnknownCommand extends Error {
  constructor(text: string) {
    super(`unknown model command ${JSON.stringify(text)}`);
    this.name = 'UnknownCommand';
  }
}

function oneOf<T extends string>(text: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) throw new UnknownCommand(text);
  return value as T;
}

function count(text: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isSafeInteger(n) || n < 0) throw new UnknownCommand(text);
  return n;
}

/**
 * Parses one command in its printed form (`start`, `send(hang)`, `frames(3 poison)`,
 * `tick(1200)`, `crash(exit3@now)`…).
 *
 * @example
 * ```ts
 * const commands = ['start', 'run', 'send(hang)', 'expire'].map(parseModelCommand);
 * ```
 */
export function parseModelCommand(text: string): ModelCommand {
  const match = /^(\w+)(?:\(([^)]*)\))?$/.exec(text.trim());
  if (match === null) throw new UnknownCommand(text);
  const [, name, args] = match;
  const [first, second] = (args ?? '').split(' ');
  switch (name) {
    case 'start':
      return new Start();
    case 'run':
      return new Run();
    case 'pause':
      return new Pause();
    case 'stop':
      return new Stop();
    case 'expire':
      return new Expire();
    case 'idle':
      return new Idle();
    case 'kill':
      return new Kill();
    case 'thaw':
      return new Thaw();
    case 'send':
      return new Send(oneOf(text, first, ['echo', 'throw', 'emit', 'hang', 'slow']));
    case 'frames':
      if (second !== undefined && second !== 'poison') throw new UnknownCommand(text);
      return new Frames(count(text, first), second === 'poison');
    case 'tick':
      return new Tick(count(text, first));
    case 'crash': {
      const [how, when] = (first ?? '').split('@');
      return new Crash(oneOf(text, how, ['throw', 'exit0', 'exit3']), oneOf(text, when, ['now', 'idle', 'frame', 'stop']));
    }
    case 'freeze':
      return new Freeze(oneOf(text, first, ['input', 'idle', 'signal']));
    case 'armStop':
      return new ArmStop(oneOf(text, first, ['hang', 'throw', 'late', 'exit0', 'exit3']));
    case 'late':
      return new Late(oneOf(text, first, ['after-reply', 'after-end']));
    case 'flood':
      return new Flood(count(text, first));
    default:
      throw new UnknownCommand(text);
  }
}

/**
 * Parses a command list as fast-check prints it in a counterexample (`start,run,send(hang)`;
 * its `/*replayPath=…*\/` comment is ignored).
 *
 * @example
 * ```ts
 * const commands = parseModelCommands('start,run,frames(3 poison),expire');
 * ```
 */
export function parseModelCommands(list: string): ModelCommand[] {
  return list
    .replace(/\/\*.*?\*\//g, '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
    .map(parseModelCommand);
}
