/**
 * `node bench/run.mjs [options]`: the same as `threadkit bench [options]` (`npm run bench` builds
 * dist/ first, then runs that). Kept for the habit; the command itself lives in src/cli/bench.ts
 * and the harness in lib/harness.mjs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('bench/run.mjs: dist/cli.js not found: run `npm run build` first (or `npm run bench`)');
  process.exit(1);
}
const r = spawnSync(process.execPath, [cli, 'bench', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
