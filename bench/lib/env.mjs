/** What a result depends on: machine, Node and V8 versions, the commit measured, the peers' versions. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { has } from './peers.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

function git(args) {
  // An installed package has no .git of its own: git would answer for the project around it.
  if (!existsSync(join(root, '.git'))) return undefined;
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The installed version of `name`, found from its entry point up (resolved as peers.mjs loads it). */
function versionOf(name) {
  if (!has(name)) return 'not installed';
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        if (pkg.name === name) return pkg.version;
      }
      const up = dirname(dir);
      if (up === dir) return '?';
      dir = up;
    }
  } catch {
    return '?';
  }
}

/** Whether dist/ (what the benchmarks import) was built after the last change to src/. */
function distState() {
  // An installed package ships dist/ and no src/.
  if (!existsSync(new URL('../../src/', import.meta.url))) return 'installed package';
  try {
    const built = statSync(new URL('../../dist/index.js', import.meta.url)).mtimeMs;
    const src = new URL('../../src/', import.meta.url);
    const newest = Math.max(
      ...readdirSync(src, { recursive: true }).map((f) => statSync(new URL(String(f), src)).mtimeMs),
    );
    return newest > built
      ? 'dist/ is OLDER than src/: run `npm run bench` to rebuild'
      : 'dist/ built after the last src/ change';
  } catch {
    return 'dist/ not found: run `npm run bench` to build it';
  }
}

export function environment() {
  const commit = git(['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  // The source measured is dist/, built from src/: say so when src/ differs from the commit.
  const dirty = git(['status', '--porcelain', '--', 'src']);
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  return {
    threadkit: version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    os: `${platform()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    commit: dirty ? `${commit} (src/ has uncommitted changes)` : commit,
    dist: distState(),
    peers: ['piscina', 'tinypool', 'workerpool', 'async-mutex', 'tinybench'].map((p) => `${p} ${versionOf(p)}`),
    date: new Date().toISOString(),
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

/** The run's header, line by line. */
export function formatEnvironment(env, mode) {
  return [
    '# threadkit benchmarks',
    `machine: ${env.cpu}, ${env.cores} cores, ${env.memGiB} GiB, ${env.os}`,
    `node ${env.node} (V8 ${env.v8}); threadkit ${env.threadkit}, commit ${env.commit}; ${env.dist}; ${env.date}`,
    `peers: ${env.peers.join(', ')}`,
    `load average at start (1/5/15 min): ${env.load}; other processes' CPU use skews thread timings`,
    `mode: ${mode}`,
  ];
}

export function printEnvironment(env, mode, out = console.log) {
  for (const l of formatEnvironment(env, mode)) out(l);
}
