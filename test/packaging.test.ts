/**
 * The package as npm ships it: the `threadkit` bin, the files it needs (dist/ and bench/), the
 * library never loading the command's dependencies, the modules kept for their side effects, and
 * the command run from an installed copy of the package (without the dev-only peers).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ESCAPE, ROOT, run } from './helpers-cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** The files `npm pack` would put in the tarball. */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('package.json', () => {
  test('bin names threadkit → dist/cli.js, an executable node script', () => {
    assert.deepEqual(pkg.bin, { threadkit: './dist/cli.js' });
    const cli = join(ROOT, pkg.bin.threadkit);
    assert.match(readFileSync(cli, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    accessSync(cli, constants.X_OK);
  });

  test('the runtime dependencies are the command’s, pinned to exact versions', () => {
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['cli-progress', 'cli-table3']);
    for (const v of Object.values(pkg.dependencies)) assert.match(String(v), /^\d+\.\d+\.\d+$/);
  });

  test('every module that registers a shareable kind is imported by the bootstrap and kept as a side effect', () => {
    const src = join(ROOT, 'src');
    const registering = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /^defineKind\(/m.test(readFileSync(join(src, f), 'utf8')))
      .map((f) => `./src/${f.replaceAll('\\', '/')}`);
    assert.ok(registering.length >= 8, `found ${registering.join(', ')}`);
    const kinds = readFileSync(join(src, 'thread/kinds.ts'), 'utf8');
    for (const file of registering) {
      assert.ok(pkg.sideEffects.includes(file), `package.json sideEffects lists ${file}`);
      const spec = file.replace('./src/', '').replace(/\.ts$/, '.js');
      const relative = spec.startsWith('thread/') ? `./${spec.slice('thread/'.length)}` : `../${spec}`;
      assert.ok(kinds.includes(`import '${relative}';`), `src/thread/kinds.ts imports ${relative}`);
    }
    assert.ok(pkg.sideEffects.includes('./src/thread/kinds.ts'));
    assert.match(readFileSync(join(src, 'thread/worker.ts'), 'utf8'), /^import '\.\/kinds\.js';/m);
  });
});

describe('what npm ships', () => {
  test('dist/ with the command, bench/ with its harness and fixtures; no sources or tests', () => {
    const files = packedFiles();
    for (const f of [
      'dist/index.js',
      'dist/index.cjs',
      'dist/index.d.ts',
      'dist/worker.js',
      'dist/cli.js',
      'bench/lib/harness.mjs',
      'bench/lib/peers.mjs',
      'bench/fixtures/pool-tasks.mjs',
      'bench/README.md',
      'README.md',
      'BENCHMARKS.md',
      'package.json',
    ]) {
      assert.ok(files.includes(f), `the package has ${f}`);
    }
    assert.deepEqual(
      files.filter((f) => /^(src|test|examples)\//.test(f)),
      [],
    );
  });

  test('importing the library loads neither cli-progress nor cli-table3 (ESM and CommonJS)', async () => {
    const probe = (load: string) =>
      `${load}; const loaded = Object.keys(require('node:module')._cache); ` +
      `console.log(JSON.stringify(loaded.filter((f) => /cli-progress|cli-table3|string-width/.test(f))));`;
    const esm = await run([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${probe("const tk = await import('threadkit'); new tk.Lock()")}`,
    ]);
    assert.equal(esm.code, 0, esm.stderr);
    assert.equal(esm.stdout.trim(), '[]');
    const cjs = await run(['-e', probe("const tk = require('threadkit'); new tk.Lock()")]);
    assert.equal(cjs.code, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), '[]');
    // The probe does see them once the command is loaded, so the checks above mean something.
    const cli = JSON.stringify(new URL('../dist/cli.js', import.meta.url).href);
    const cmd = await run([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${probe(`process.argv.push('-', '--version'); await import(${cli})`)}`,
    ]);
    assert.equal(cmd.code, 0, cmd.stderr);
    assert.notEqual(cmd.stdout.trim().split('\n').at(-1), '[]');
  });
});

describe('installed: the package copied into a project’s node_modules, without the dev-only peers', () => {
  const project = mkdtempSync(join(tmpdir(), 'threadkit-installed-'));
  after(() => rmSync(project, { recursive: true, force: true }));
  const modules = join(project, 'node_modules');
  const installed = join(modules, 'threadkit');

  test('set up as npm would: the packed files, the runtime dependencies, the .bin link', () => {
    for (const f of packedFiles()) {
      mkdirSync(dirname(join(installed, f)), { recursive: true });
      cpSync(join(ROOT, f), join(installed, f));
    }
    // The command's dependencies, from this clone's node_modules (their own dependencies
    // resolve from there too).
    for (const dep of Object.keys(pkg.dependencies)) symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep));
    mkdirSync(join(modules, '.bin'));
    symlinkSync('../threadkit/dist/cli.js', join(modules, '.bin', 'threadkit'));
  });

  test('npx threadkit demo runs from it', async () => {
    const r = await run([join(modules, '.bin', 'threadkit'), 'demo', '--quick', '--chapter', '1'], {
      cwd: project,
      timeout: 60_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^All 3 checks passed/m);
    assert.doesNotMatch(r.stdout, ESCAPE);
  });

  test('threadkit bench finds its scenarios there, and says how to install the missing peers', async () => {
    const r = await run([join(modules, '.bin', 'threadkit'), 'bench', '--quick', '--only', 'uncontended'], {
      cwd: project,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /not installed: piscina, tinypool, workerpool, async-mutex, tinybench/);
    assert.match(r.stdout, /npm install --no-save piscina@/);
    assert.match(r.stdout, /installed package/); // env.mjs: no src/ and no git commit of its own
    assert.match(r.stdout, /uncontended: skipped, needs tinybench/);
  });

  test('threadkit bench wait-records: measures on dist/, and leaves out the table that needs src/ and tsx', async () => {
    // Its recording table runs threadkit's sources under tsx (a devDependency): neither is
    // shipped, so it must say so and measure the rest, not fail the run.
    const r = await run([join(modules, '.bin', 'threadkit'), 'bench', '--quick', '--only', 'wait-records'], {
      cwd: project,
      timeout: 120_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /FAILED/);
    assert.doesNotMatch(r.stdout, /^## Recording a wait/m);
    assert.match(r.stdout, /^## A recorded wait, end to end/m);
    assert.match(r.stdout, /^## The deadlock watchdog while nothing happens/m);
    assert.match(
      r.stdout,
      /note: the table “Recording a wait” \(threadkit internals\) is skipped: it needs threadkit’s src\/ and tsx, which an installed package does not have/,
    );
  });
});
