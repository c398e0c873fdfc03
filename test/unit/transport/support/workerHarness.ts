/**
 * Runs our real transport modules inside worker threads. Node 20 cannot load TypeScript in a
 * worker, so the modules are transpiled (types stripped, nothing else) into a temporary
 * directory next to the guest script: both sides of every test run the same code.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';

const MODULES = ['segmentLayout', 'DescriptorRing', 'PollGovernor', 'Doorbell', 'futexDoorbell'] as const;

/** A directory holding the transpiled transport modules and guest scripts. */
export interface CompiledTransport {
  readonly dir: string;
  /** Writes `source` (ESM, may import './DescriptorRing.js' etc.) as `name` and returns its URL. */
  script(name: string, source: string): Promise<URL>;
  cleanup(): Promise<void>;
}

export async function compileTransport(): Promise<CompiledTransport> {
  const dir = await mkdtemp(join(tmpdir(), 'seam-transport-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  for (const name of MODULES) {
    const source = await readFile(new URL(`../../../../src/transport/${name}.ts`, import.meta.url), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: `${name}.ts`,
    });
    await writeFile(join(dir, `${name}.js`), outputText);
  }
  return {
    dir,
    async script(name, source) {
      const path = join(dir, name);
      await writeFile(path, source);
      return pathToFileURL(path);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A started worker and its first message. */
export interface StartedWorker {
  readonly worker: Worker;
  /** The first message the worker posts; rejects on a worker error, an exit without message, or after `timeoutMs`. */
  readonly firstMessage: Promise<unknown>;
}

export function startWorker(script: URL | string, workerData: unknown, timeoutMs = 15_000): StartedWorker {
  const worker = typeof script === 'string' ? new Worker(script, { eval: true, workerData }) : new Worker(script, { workerData });
  const firstMessage = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`worker sent no message within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (action: () => void) => {
      clearTimeout(timer);
      action();
    };
    worker.once('message', (message) => {
      settle(() => {
        resolve(message);
      });
    });
    worker.once('error', (error) => {
      settle(() => {
        reject(error);
      });
    });
    worker.once('exit', (code) => {
      settle(() => {
        reject(new Error(`worker exited with code ${code} before sending a message`));
      });
    });
  });
  // Avoid an unhandled rejection when a test fails before awaiting it.
  firstMessage.catch(() => undefined);
  return { worker, firstMessage };
}

/** Polls `predicate` once per event-loop turn until it holds; fails after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
