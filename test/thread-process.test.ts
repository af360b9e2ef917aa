/**
 * Process-level behaviour of threads, each tested in a child process running a program of
 * `fixtures/threads/` (SPEC "Threads"): the default excepthook's output, daemon semantics (who
 * keeps the process alive), one registry for the ESM and CommonJS builds side by side, and a
 * TypeScript program run under tsx whose function targets carry esbuild's `__name` helpers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScript } from './helpers.js';
import { runProgram } from './helpers-thread.js';

type Run = Awaited<ReturnType<typeof runProgram>>;

function explain(r: Run): string {
  return `exit code ${r.code}, signal ${r.signal}, ${Math.round(r.ms)} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function lines(r: Run): string[] {
  return r.stdout.trim().split('\n');
}

test('the default excepthook prints "Exception in thread NAME:" and the stack; the process does not crash', async () => {
  const r = await runProgram('program-excepthook.mjs');
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /joined, alive=false/);
  assert.match(r.stdout, /main still running/);
  assert.equal(/inner: (.+)/.exec(r.stdout)?.[1], 'Thread-3 (inner)', explain(r));
  assert.match(r.stderr, /^Exception in thread Thread-1 \(explode\):\nTypeError: kaboom 42\n/m, explain(r));
  assert.match(r.stderr, /\bat explode\b/, 'the stack of the thread that threw');
  assert.match(r.stderr, /^Exception in thread worker-7:\nError: named failure\n/m, explain(r));
  assert.match(
    r.stderr,
    /^Exception in thread Thread-3 \(inner\):\nRangeError: from a grandchild\n/m,
    'a thread started by a thread reports through the default hook too',
  );
  assert.equal(r.stderr.match(/^Exception in thread /gm)?.length, 3, 'each failure reported once');
});

test('a non-daemon thread keeps the process alive until it finishes', async () => {
  const r = await runProgram('program-non-daemon.mjs');
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(lines(r), ['main finished', 'worker finished'], explain(r));
});

test('daemon threads never keep the process alive, whatever they are doing', async () => {
  // Hanging here means a daemon kept the process alive: the child is killed at the timeout.
  const r = await runProgram('program-daemons.mjs', { timeout: 40_000 });
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(lines(r), ['main finished'], explain(r));
});

test('a thread’s non-daemon children keep the process alive after the thread’s target returned', async () => {
  const r = await runProgram('program-children.mjs');
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(lines(r), ['parent returned', 'child finished'], explain(r));
});

test('a non-daemon thread started by a daemon thread keeps the process alive (it is not a daemon)', async () => {
  const r = await runProgram('program-daemon-parent.mjs');
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(lines(r), ['main finished', 'non-daemon grandchild finished'], explain(r));
});

test('awaiting join() or result() of a daemon thread keeps the process alive until it finishes', async () => {
  const r = await runProgram('program-join-daemon.mjs');
  assert.equal(r.code, 0, explain(r));
  assert.deepEqual(lines(r), ['joined a, alive=false', 'result of b'], explain(r));
});

test('one registry when the ESM and CommonJS builds are both loaded', async () => {
  const r = await runProgram('program-two-builds.mjs');
  assert.equal(r.code, 0, explain(r));
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out.distinctModules, true, 'two copies of the package are loaded');
  assert.deepEqual(out.names, ['Thread-1 (wait)', 'Thread-2 (wait)'], 'N counts from 1, across both builds');
  assert.deepEqual(out.esmSees, out.idents, 'the ESM build sees the CommonJS build’s thread');
  assert.deepEqual(out.cjsSees, out.idents, 'the CommonJS build sees the ESM build’s thread');
  assert.deepEqual(out.counts, [3, 3]);
  assert.deepEqual(out.main, ['MainThread', 'MainThread', true, true]);
  assert.equal(out.cName, 'Thread-3 (target)');
  assert.deepEqual(out.fromThread, out.expectedFromThread, 'a thread sees the same registry through the other build');
  assert.equal(out.lockSeenHeld, true, 'a primitive of one build works in a thread of the other');
  assert.equal(out.hook, 'via esm', 'one excepthook for both builds');
  assert.deepEqual(out.after, [1, 1]);
});

test('a TypeScript program under tsx ships functions with nested definitions (esbuild’s __name) as targets', async () => {
  const r = await runProgram('tsx-program.ts', { tsx: true });
  assert.equal(r.code, 0, explain(r));
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(out.sourceHasName, true, 'tsx inserted __name: the test exercises what it means to');
  assert.deepEqual(out, {
    sourceHasName: true,
    nested: 44,
    asyncNested: 'A B',
    subclass: 'total=6',
    timer: 84,
    tsModule: 3,
    fromAThread: 15,
  });
});

test('threads start in a program run as `node --input-type=module -e` (Workers must not inherit --input-type)', async () => {
  const r = await runScript(`
    import { Thread } from 'threadkit';
    const t = new Thread({ target: (a, b) => a + b, args: [2, 3] });
    t.start();
    console.log(await t.result().catch((e) => 'failed: ' + e.message));
  `);
  assert.equal(r.code, 0, explain(r));
  assert.equal(r.stdout.trim(), '5', explain(r));
});
