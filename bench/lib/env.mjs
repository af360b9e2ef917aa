/** What a result depends on: machine, Node and V8 versions, the commit measured, the peers' versions. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function versionOf(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'))
      .version;
  } catch {
    return '?';
  }
}

/** Whether dist/ (what the benchmarks import) was built after the last change to src/. */
function distState() {
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
  return {
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

export function printEnvironment(env, mode) {
  console.log('# threadkit benchmarks');
  console.log(`machine: ${env.cpu}, ${env.cores} cores, ${env.memGiB} GiB, ${env.os}`);
  console.log(`node ${env.node} (V8 ${env.v8}); threadkit commit ${env.commit}; ${env.dist}; ${env.date}`);
  console.log(`peers: ${env.peers.join(', ')}`);
  console.log(`load average at start (1/5/15 min): ${env.load}; other processes' CPU use skews thread timings`);
  console.log(`mode: ${mode}`);
}
