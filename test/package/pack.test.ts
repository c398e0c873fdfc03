/**
 * The packed-install test: what `npm pack` ships is what a consumer gets, and it works
 * there. Packs the repository into a temporary directory, installs the tarball into an
 * empty ES-module project in another one, and runs examples/hello-world from that install
 * in every mode. This proves that dist/ (with its guest entries for workers and child
 * processes), the exports map and the native addon work outside this repository: built
 * from source by the install script (`npm_config_build_from_source`), and prebuilt (`npm pack`
 * ships the addon it built) in a second install that runs no script at all. It uses the
 * network only for the three runtime dependencies, and prefers npm's cache.
 *
 * Slow by nature (the addon is compiled from source during the install): its own, generous
 * deadlines. Run `npm run build` first: the tarball ships dist/ as it is.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prebuiltAddonPath } from '../../src/transport/shmBinding.js';
import { describeRun, runProcess, type ProcessResult } from '../examples/runNode.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACK_DEADLINE_MS = 60_000;
const INSTALL_DEADLINE_MS = 150_000;
const RUN_DEADLINE_MS = 15_000; // below the test timeout, so a hung run is killed with its output kept
const SETUP_TIMEOUT_MS = PACK_DEADLINE_MS + 2 * INSTALL_DEADLINE_MS + 10_000;
/** What `npm pack` prebuilds here (this platform, CPU and Node ABI), as the runtime names it. */
const PREBUILT = prebuiltAddonPath().split(path.sep).join('/');

/**
 * The environment of the nested npm commands: ours, minus what an enclosing `npm test`
 * exported for its own scripts (package and lifecycle variables, its project's config),
 * so the consumer install behaves as a user's would. npm's cache and user config stay.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry']);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'INIT_CWD' || (name.toLowerCase().startsWith('npm_') && !keep.has(name.toLowerCase()))) continue;
    env[name] = value;
  }
  return env;
}

function npm(args: readonly string[], cwd: string, timeoutMs: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return runProcess('npm', args, { cwd, timeoutMs, env: { ...npmEnv(), ...extraEnv } });
}

/** An empty ES-module project with examples/hello-world in it, outside this repository. */
async function consumerProject(dir: string): Promise<void> {
  await cp(path.join(root, 'examples', 'hello-world'), path.join(dir, 'hello-world'), { recursive: true });
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
}

function expectSuccess(label: string, result: ProcessResult): void {
  expect(result.timedOut, describeRun(label, result)).toBe(false);
  expect(result.code, describeRun(label, result)).toBe(0);
}

/** Every .ts source under src/, as paths relative to src/ without the extension. */
async function sourceModules(): Promise<Set<string>> {
  const entries = await readdir(path.join(root, 'src'), { recursive: true });
  return new Set(entries.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -'.ts'.length)));
}

describe('the packed package, installed in an empty project', () => {
  let workDir: string;
  let consumerDir: string;
  /** Installed with --ignore-scripts: only what the tarball holds, nothing built. */
  let scriptlessDir: string;
  /** Installed as a user would: the install script finds the prebuilt addon. */
  let defaultInstall: ProcessResult;
  let shipped: string[];
  let install: ProcessResult;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'plugin-seam-pack-'));
    const packDir = path.join(workDir, 'pack');
    consumerDir = path.join(workDir, 'consumer');
    scriptlessDir = path.join(workDir, 'scriptless');

    await mkdir(packDir);
    const pack = await npm(['pack', '--pack-destination', packDir], root, PACK_DEADLINE_MS);
    expectSuccess('npm pack', pack);
    const tarballs = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);
    const tarball = path.join(packDir, tarballs[0]!);

    // The file list, read from the tarball itself (npm prefixes every entry with package/).
    const listing = await runProcess('tar', ['-tzf', tarball], { cwd: workDir, timeoutMs: RUN_DEADLINE_MS });
    expectSuccess('tar -tzf', listing);
    shipped = listing.stdout
      .split('\n')
      .filter((line) => line.length > 0 && !line.endsWith('/'))
      .map((line) => line.replace(/^package\//, ''));

    // Empty ES-module projects, outside this repository, so nothing resolves back to it.
    const defaultDir = path.join(workDir, 'default');
    await consumerProject(consumerDir);
    await consumerProject(scriptlessDir);
    await consumerProject(defaultDir);
    // --foreground-scripts: the package's install script prints whether it built the addon;
    // build from source (as on a platform or Node major without a prebuilt addon), not the
    // prebuilt one the tarball holds.
    install = await npm(
      ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      consumerDir,
      INSTALL_DEADLINE_MS,
      { npm_config_build_from_source: 'true' },
    );
    expectSuccess('npm install <tarball>', install);
    const [scriptless, byDefault] = await Promise.all([
      npm(['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], scriptlessDir, INSTALL_DEADLINE_MS),
      npm(['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], defaultDir, INSTALL_DEADLINE_MS),
    ]);
    expectSuccess('npm install --ignore-scripts <tarball>', scriptless);
    expectSuccess('npm install <tarball> (prebuilt)', byDefault);
    defaultInstall = byDefault;
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('ships dist, the native sources, the README and package.json', () => {
    for (const file of [
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/plugin/index.js',
      'dist/plugin/index.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/adapters/embedded/guest.js',
      'dist/adapters/isolated/guest.js',
      'dist/cli/seam.js',
      'native/binding.gyp',
      'native/build.mjs',
      'native/src/shm.cc',
      PREBUILT,
    ]) {
      expect(shipped, `missing from the tarball: ${file}`).toContain(file);
    }
  });

  it('ships no tests, benchmarks, examples, TypeScript sources, build leftovers or tool configs', () => {
    const unwanted = shipped.filter(
      (file) =>
        /^(src|test|bench|examples|scripts|coverage|node_modules|dist-typecheck)\//.test(file) ||
        /^native\/build\//.test(file) ||
        (file.endsWith('.ts') && !file.endsWith('.d.ts')) ||
        /(^|\/)(tsconfig[^/]*\.json|eslint\.config\.[cm]?js|vitest\.config\.[cm]?[jt]s|typedoc\.json|package-lock\.json|\.gitignore|\.npmrc)$/.test(file) ||
        (/\.(tsbuildinfo|tgz|o|node|log)$/.test(file) && file !== PREBUILT),
    );
    expect(unwanted).toEqual([]);
  });

  it('ships only build output that a source still produces (no stale dist/ files)', async () => {
    const sources = await sourceModules();
    // `npm run build` (tsc) never deletes output, so a removed or renamed source leaves its
    // old .js behind in dist/, and npm pack would publish it.
    const stale = shipped.filter(
      (file) => file.startsWith('dist/') && !sources.has(file.slice('dist/'.length).replace(/(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/, '')),
    );
    expect(stale, 'dist/ holds output of deleted sources: rebuild from an empty dist/').toEqual([]);
  });

  it('builds the native addon during the install', async () => {
    const output = `${install.stdout}${install.stderr}`;
    expect(output, describeRun('npm install', install)).toContain('plugin-seam: built native/build/Release/plugin_seam_shm.node');
    expect(output).not.toContain('WARNING native shared-memory addon not built');
    const addon = await stat(path.join(consumerDir, 'node_modules', 'plugin-seam', 'native', 'build', 'Release', 'plugin_seam_shm.node'));
    expect(addon.isFile()).toBe(true);
  });

  it('resolves plugin-seam and its subpaths to the installed copy', async () => {
    const script = "for (const s of ['plugin-seam', 'plugin-seam/plugin', 'plugin-seam/testing']) console.log(import.meta.resolve(s));";
    const result = await runProcess(process.execPath, ['--input-type=module', '-e', script], { cwd: consumerDir, timeoutMs: RUN_DEADLINE_MS });
    expectSuccess('resolve', result);
    const installed = pathToFileURL(path.join(consumerDir, 'node_modules', 'plugin-seam', 'dist')).href;
    expect(result.stdout.trim().split('\n')).toEqual([
      `${installed}/index.js`,
      `${installed}/plugin/index.js`,
      `${installed}/testing/index.js`,
    ]);
  });

  const transports = { inline: 'direct', embedded: 'shared-memory', isolated: 'shared-memory' };
  it.each(Object.entries(transports))('runs examples/hello-world in %s mode from the install', async (mode, transport) => {
    const result = await runProcess(process.execPath, ['hello-world/host.mjs', mode], { cwd: consumerDir, timeoutMs: RUN_DEADLINE_MS });
    expectSuccess(`hello-world ${mode}`, result);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    // isolated: `shared-memory` proves the addon built by the install loads and maps memory.
    expect(lines).toContain(`mode: ${mode}, transport: ${transport}`);
    expect(lines).toContain('reply: Hello, world!');
    expect(lines).toContain('final state: stopped');
  });

  // Installed, npm hoists the runtime's dependencies (comlink) out of its folder: the
  // permission flags must still let the child load them (it could not: ERR_ACCESS_DENIED).
  it('runs an isolated plugin under the permission flag from the install', async () => {
    const script = [
      "import { createRuntime } from 'plugin-seam';",
      'const runtime = createRuntime();',
      "const p = runtime.load({ id: 'hello', module: new URL('./hello-world/plugin.mjs', import.meta.url), mode: 'isolated', config: { greeting: 'Hello' }, isolation: { permission: true } });",
      'await p.start();',
      'await p.run();',
      "console.log(`reply: ${await p.send({ name: 'world' })}`);",
      'await runtime.shutdown();',
      '',
    ].join('\n');
    await writeFile(path.join(consumerDir, 'permission.mjs'), script);
    const result = await runProcess(process.execPath, ['permission.mjs'], { cwd: consumerDir, timeoutMs: RUN_DEADLINE_MS });
    expectSuccess('isolated under the permission flag', result);
    expect(result.stdout.split('\n')).toContain('reply: Hello, world!');
  });

  it('compiles nothing in a default install: the install script takes the prebuilt addon', () => {
    const output = `${defaultInstall.stdout}${defaultInstall.stderr}`;
    expect(output, describeRun('npm install (prebuilt)', defaultInstall)).toContain(`plugin-seam: using the prebuilt ${PREBUILT}`);
    expect(output).not.toContain('plugin-seam: built');
  });

  it('shares memory from the prebuilt addon in an install that ran no script and compiled nothing', async () => {
    await expect(stat(path.join(scriptlessDir, 'node_modules', 'plugin-seam', 'native', 'build'))).rejects.toMatchObject({ code: 'ENOENT' });
    const prebuilt = await stat(path.join(scriptlessDir, 'node_modules', 'plugin-seam', PREBUILT));
    expect(prebuilt.isFile()).toBe(true);
    const result = await runProcess(process.execPath, ['hello-world/host.mjs', 'isolated'], { cwd: scriptlessDir, timeoutMs: RUN_DEADLINE_MS });
    expectSuccess('hello-world isolated, prebuilt addon', result);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines).toContain('mode: isolated, transport: shared-memory');
    expect(lines).toContain('reply: Hello, world!');
  });

  it('falls back, visibly, to copying frames when the addon is unavailable', async () => {
    const result = await runProcess(process.execPath, ['hello-world/host.mjs', 'isolated'], {
      cwd: consumerDir,
      timeoutMs: RUN_DEADLINE_MS,
      env: { ...process.env, PLUGIN_SEAM_NO_ADDON: '1' },
    });
    expectSuccess('hello-world isolated without the addon', result);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('mode: isolated, transport: copy');
    expect(lines).toContain('reply: Hello, world!');
  });

  it('installs the seam command', async () => {
    const result = await runProcess(path.join(consumerDir, 'node_modules', '.bin', 'seam'), ['help'], {
      cwd: consumerDir,
      timeoutMs: RUN_DEADLINE_MS,
    });
    expectSuccess('seam help', result);
    expect(result.stdout).toContain('usage: seam <command>');
  });

  it('ships a package.json whose exports point at shipped files', async () => {
    const manifest = JSON.parse(await readFile(path.join(consumerDir, 'node_modules', 'plugin-seam', 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    targets.push(...Object.values(manifest.bin));
    for (const target of targets) expect(shipped, `exports/bin target not shipped: ${target}`).toContain(target.replace(/^\.\//, ''));
  });
});
