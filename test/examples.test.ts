/**
 * The README's code and the programs of examples/ stay true: every example runs and prints what
 * it says, and every JavaScript block of the README is one of those programs, verbatim (so every
 * README snippet is run here too).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runNode } from './helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const examples = readdirSync(new URL('../examples/', import.meta.url)).filter((f) => f.endsWith('.mjs'));

/** An example's code as the README shows it: the file without its opening comment lines. */
function body(file: string): string {
  const code = readFileSync(new URL(`../examples/${file}`, import.meta.url), 'utf8');
  return code.replace(/^(\/\/.*\n)+/, '');
}

async function runExample(file: string, args: string[] = []) {
  const r = await runNode([`examples/${file}`, ...args], { timeout: 90_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  return r;
}

/** What each example must print: its lines in order (regular expressions, each a whole line). */
const expected: Record<string, RegExp[]> = {
  'tour-thread.mjs': [/^MainThread, fib-25, fib-26, fib-27$/, /^fib-25 75025$/, /^fib-26 121393$/, /^fib-27 196418$/],
  'tour-lock.mjs': [/^counter: 40000$/, /^locked: false$/],
  'tour-queue.mjs': [/^sum of squares: 385$/],
  'tour-pool.mjs': [/^square: 144$/, /^lengths: 3 5 6$/],
  'quickstart.mjs': [
    /^square: 144$/,
    /^counter: 40000$/,
    /^threads alive: MainThread, waiter$/,
    /^waiter notified: true - main is MainThread$/,
    /^caught: true out of range 42$/,
  ],
  'chapter-1-spawning-threads.mjs': [
    /^alive: \d+: MainThread, primes-1, primes-2/,
    /^primes-1: \d+ primes in \d+ ms$/,
    /^\d+ threads found 41538 primes below 500000 in \d+ ms$/,
    /^after join: MainThread alone is alive$/,
  ],
  'chapter-2-threading-module.mjs': [
    /^without a lock: \d+ of 4000000$/,
    /^ {2}(\d+ updates lost to the race|none lost this time, by chance)$/,
    /^with a Lock: 100000 of 100000$/,
    /^rounds in the order the threads finished them: 1 1 2 2 3 3$/,
    /^consumed: 1 4 9 16 25$/,
  ],
  'chapter-3-pooling-threads.mjs': [
    /^main thread: 92938 primes below 1200000 in \d+ ms$/,
    /^1 thread\(s\): 92938 primes in \d+ ms, speedup [\d.]+x$/,
    /^server: 100 requests, \d+ requests\/s, p50 [\d.]+ ms, p90 [\d.]+ ms$/,
    /^server: shut down, every worker returned$/,
  ],
  'chapter-4-thread-tricks.mjs': [
    /^runaway: terminated, alive = false$/,
    /^cruncher: stopped by the Event after \d+ slices of work$/,
    /^timer: ding after 100 ms or more$/,
    /^cancelled timer: undefined$/,
    /^excepthook got: faulty: RangeError: 42 is out of range$/,
    /^lock taken over from the dead holder: true$/,
    /^main: end of the script; the worker still has ~300 ms to go$/,
    /^exit: worker alive = false; the daemon did not hold the process$/,
  ],
};

describe('examples/', () => {
  // parallel-primes.mjs is checked below with an argument; deadlock.mjs, which must hang and be
  // reported, by diagnostics-example.test.ts.
  const elsewhere = ['parallel-primes.mjs', 'deadlock.mjs'];
  test('every example has its expectations here', () => {
    assert.deepEqual(
      examples.filter((f) => !elsewhere.includes(f) && !(f in expected)),
      [],
    );
  });

  for (const [file, lines] of Object.entries(expected)) {
    test(`${file} prints what it says`, async () => {
      const { stdout } = await runExample(file);
      const out = stdout.split('\n');
      let at = 0;
      for (const line of lines) {
        const found = out.findIndex((l, i) => i >= at && line.test(l));
        assert.ok(found >= 0, `expected a line ${line} (after line ${at}) in:\n${stdout}`);
        at = found + 1;
      }
    });
  }

  test('parallel-primes.mjs: threads and a shared Lock count what one thread counts', async () => {
    const { stdout } = await runExample('parallel-primes.mjs', ['300000']);
    assert.match(stdout, /results agree/);
  });
});

describe('README.md', () => {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

  test('every JavaScript block is an example file, verbatim (so the tests above run it)', () => {
    assert.ok(blocks.length >= 4, 'the tour has its snippets');
    for (const block of blocks) {
      const file = examples.find((f) => body(f) === block);
      assert.ok(file, `no file of examples/ is this README block:\n${block}`);
    }
  });

  test('the tour shows a thread, a lock, a queue and a pool', () => {
    for (const f of ['tour-thread.mjs', 'tour-lock.mjs', 'tour-queue.mjs', 'tour-pool.mjs']) {
      assert.ok(blocks.includes(body(f)), `the README shows examples/${f}`);
    }
  });

  test('the commands it gives are the package’s scripts', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const [, script] of readme.matchAll(/npm (?:run )?([a-z:]+)/g)) {
      if (['install', 'ci', 'test', 'start'].includes(script!) || script === 'run') continue;
      assert.ok(script! in pkg.scripts, `npm run ${script} is a script of package.json`);
    }
    assert.equal(pkg.scripts.start, 'node dist/cli.js demo');
  });
});
