/**
 * The README's examples stay true: the programs it shows run and print what it says.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runNode } from './helpers.js';

test('examples/quickstart.mjs prints what the README says', async () => {
  const r = await runNode(['examples/quickstart.mjs'], { timeout: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^square: 144$/m);
  assert.match(r.stdout, /^counter: 40000$/m);
  assert.match(r.stdout, /^threads alive: MainThread, waiter$/m);
  assert.match(r.stdout, /^waiter notified: true - main is MainThread$/m);
  assert.match(r.stdout, /^caught: true out of range 42$/m);
});

test('the README shows examples/quickstart.mjs verbatim', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readFileSync(new URL('../examples/quickstart.mjs', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  // The README leaves out the file's opening comment.
  const body = code.replace(/^\/\/.*\n/, '');
  assert.equal(block, body);
});

test('npm start runs the prime-counting demo and its results agree', async () => {
  const r = await runNode(['examples/parallel-primes.mjs', '300000'], { timeout: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /results agree/);
});
