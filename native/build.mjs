#!/usr/bin/env node
// Builds the optional shared-memory addon (native/build/Release/plugin_seam_shm.node).
//
// Run by package.json "install", so it must never fail the install: the addon
// is an optimisation for isolated mode, which falls back to copying frames
// when it is missing. Every failure path therefore prints one warning line and
// exits 0.
//
//   node native/build.mjs             build unless an up-to-date, loadable addon exists
//                                     (a local build, or the prebuilt one npm pack shipped)
//   node native/build.mjs --force     always rebuild
//   node native/build.mjs --prebuild  build if needed, then copy the addon to
//                                     prebuilds/<platform>-<arch>/plugin_seam_shm.abi<N>.node
//                                     (package.json "prepack": the tarball ships it, so an
//                                     install that runs no script, or has no compiler, on
//                                     this platform and Node major still shares memory)
//
// npm's --build-from-source (npm_config_build_from_source) skips the prebuilt.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.dirname(nativeDir);
const addonPath = path.join(nativeDir, 'build', 'Release', 'plugin_seam_shm.node');
const sources = [path.join(nativeDir, 'binding.gyp'), path.join(nativeDir, 'src', 'shm.cc')];
const force = process.argv.includes('--force');
const prebuild = process.argv.includes('--prebuild');
const fromSource = force || prebuild || /^(true|1)$/.test(process.env.npm_config_build_from_source ?? '');
// The same name src/transport/shmBinding.ts looks for (prebuiltAddonPath there).
const prebuiltPath = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, `plugin_seam_shm.abi${process.versions.modules}.node`);

/** @param {string} reason */
function giveUp(reason) {
  console.warn(
    `plugin-seam: WARNING native shared-memory addon not built (${reason}); ` +
      'isolated mode will fall back to copying frames.',
  );
  process.exit(0);
}

/**
 * An addon not older than its sources that this very Node can load needs no rebuild. (In an
 * installed tarball every file has npm's fixed mtime: equal, so up to date.)
 * @param {string} file
 */
function isUpToDate(file) {
  if (!existsSync(file)) return false;
  const builtAt = statSync(file).mtimeMs;
  if (sources.some((source) => statSync(source).mtimeMs > builtAt)) return false;
  try {
    // Loading proves the ABI matches this Node (a different major would throw), and the
    // platform and C library (a glibc build on musl would throw).
    createRequire(import.meta.url)(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Points node-gyp at the headers of the running Node when they ship with it
 * (e.g. /usr/bin/node -> /usr/include/node), so no header download is needed.
 * npm already passes its `nodedir` config as npm_config_nodedir; respect that.
 * @returns {string[]}
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const versionHeader = path.join(prefix, 'include', 'node', 'node_version.h');
  if (!existsSync(versionHeader)) return [];
  const text = readFileSync(versionHeader, 'utf8');
  /** @param {string} part */
  const read = (part) => new RegExp(`#define NODE_${part}_VERSION (\\d+)`).exec(text)?.[1];
  const headerVersion = `${read('MAJOR')}.${read('MINOR')}.${read('PATCH')}`;
  // Headers from another Node version would build an addon that fails to load.
  return headerVersion === process.versions.node ? [`--nodedir=${prefix}`] : [];
}

/**
 * Prefers the devDependency, then the node-gyp npm bundles (npm exposes it to
 * lifecycle scripts as npm_config_node_gyp), then `npm exec`.
 * @returns {{ command: string, args: string[] }}
 */
function nodeGypCommand() {
  const local = path.join(packageRoot, 'node_modules', '.bin', 'node-gyp');
  if (existsSync(local)) return { command: process.execPath, args: [local] };
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return { command: process.execPath, args: [bundled] };
  return { command: 'npm', args: ['exec', '--yes', '--', 'node-gyp'] };
}

/** --prebuild: the built addon, copied to where the runtime looks for a prebuilt one. */
function copyPrebuilt() {
  if (!prebuild) return;
  mkdirSync(path.dirname(prebuiltPath), { recursive: true });
  copyFileSync(addonPath, prebuiltPath);
  console.log(`plugin-seam: prebuilt ${path.relative(packageRoot, prebuiltPath)}`);
}

// A build that fails must not leave an older prebuilt to be packed as if it were this one.
if (prebuild) rmSync(prebuiltPath, { force: true });
if (process.platform !== 'linux') giveUp(`memfd sealing is Linux-only, platform is ${process.platform}`);
if (!force && isUpToDate(addonPath)) {
  console.log(`plugin-seam: ${path.relative(packageRoot, addonPath)} is up to date`);
  copyPrebuilt();
  process.exit(0);
}
if (!fromSource && isUpToDate(prebuiltPath)) {
  // The runtime loads it from there: nothing to compile.
  console.log(`plugin-seam: using the prebuilt ${path.relative(packageRoot, prebuiltPath)}`);
  process.exit(0);
}

const { command, args } = nodeGypCommand();
const result = spawnSync(command, [...args, 'rebuild', ...nodedirArgs()], {
  cwd: nativeDir,
  encoding: 'utf8',
  // Captured rather than inherited: a successful build is one line, and a
  // failed one shows only the tail that explains it.
  stdio: ['ignore', 'pipe', 'pipe'],
  maxBuffer: 16 * 1024 * 1024,
});

if (result.error) giveUp(`could not run node-gyp: ${result.error.message}`);
if (result.status !== 0 || !existsSync(addonPath)) {
  const output = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line && !line.startsWith('gyp info'));
  console.warn(output.slice(-25).join('\n'));
  giveUp(`node-gyp exited with ${result.status ?? result.signal}`);
}
try {
  createRequire(import.meta.url)(addonPath);
} catch (error) {
  giveUp(`built but failed to load: ${error instanceof Error ? error.message : String(error)}`);
}
console.log(`plugin-seam: built ${path.relative(packageRoot, addonPath)}`);
copyPrebuilt();
