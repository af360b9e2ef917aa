/**
 * Issue 10, the threads' part (SPEC "Threads", "Code that runs in a thread"): subclasses with
 * `#private` and static members, excepthooks that fail, results nobody asked for that cannot be
 * sent, targets that do not compile on their own, and the empty name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setExcepthook, Thread, Timer } from 'threadkit';
import { runProgram } from './helpers-thread.js';

describe('excepthook failures and values that are not errors', () => {
  test('a hook that throws or rejects is reported with the original error; values print with util.inspect', async () => {
    const r = await runProgram('program-excepthook-failing.mjs');
    const explain = `exit code ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    assert.equal(r.code, 0, explain);
    assert.match(r.stdout, /^done$/m, explain);
    assert.match(
      r.stderr,
      /^Exception in thread sync-hook:\nTypeError: real error one\n[\s\S]*?^Exception in threading\.excepthook:\nRangeError: the sync hook broke\n/m,
      explain,
    );
    assert.match(
      r.stderr,
      /^Exception in thread async-hook:\nTypeError: real error two\n[\s\S]*?^Exception in threading\.excepthook:\nRangeError: the async hook broke\n/m,
      explain,
    );
    assert.match(r.stderr, /^Exception in thread plain-object:\n\{ plain: 'object', n: 1 \}\n/m, explain);
    assert.match(
      r.stderr,
      /^Exception in thread hook-throws-object:\nError: real error three\n[\s\S]*?^Exception in threading\.excepthook:\n\{ hook: 'object' \}\n/m,
      explain,
    );
    assert.doesNotMatch(r.stderr, /\[object Object\]/, explain);
  });
});

describe('a result that cannot be sent, and nobody asked for', () => {
  test('is not reported to the excepthook; a later result() rejects with the TypeError naming result', async () => {
    const calls: unknown[] = [];
    setExcepthook(({ error }) => calls.push(error));
    try {
      const targets: (() => unknown)[] = [
        () => setTimeout(() => {}, 0),
        () =>
          (function* numbers() {
            yield 1;
          })(),
        () => ({ nested: { handler: () => 1 } }),
      ];
      for (const target of targets) {
        const t = new Thread({ target });
        t.start();
        await t.join({ timeout: 20_000 });
        assert.equal(t.isAlive(), false);
        assert.deepEqual(calls, [], `nothing reported for ${target}`);
        await assert.rejects(t.result(), (e: Error) => e instanceof TypeError && /\bresult\b/.test(e.message));
      }
    } finally {
      setExcepthook(undefined);
    }
  });
});

describe('targets that do not compile on their own', () => {
  test('import.meta: says it does not exist in a function target and to pass import.meta.url as an argument', () => {
    assert.throws(
      () => new Thread({ target: () => import.meta.url }),
      (e: Error) =>
        e instanceof TypeError &&
        /`import\.meta`/.test(e.message) &&
        /pass `import\.meta\.url`.* as an argument/.test(e.message) &&
        !/method shorthand/.test(e.message),
    );
  });

  test('any other source that fails to compile shows the compile error', () => {
    class Holder {
      #x = 1;
      reader(): () => number {
        return () => this.#x;
      }
    }
    assert.throws(
      () => new Thread({ target: new Holder().reader() }),
      (e: Error) =>
        e instanceof TypeError &&
        /does not compile on its own \(SyntaxError: Private field '#x' must be declared/.test(e.message) &&
        !/method shorthand/.test(e.message),
    );
  });
});

describe('the empty name', () => {
  test("name: '' falls back to the default Thread-N name (as Python's `if name:`)", () => {
    const n = Number(/^Thread-(\d+)$/.exec(new Thread().name)?.[1]);
    assert.equal(new Thread({ name: '' }).name, `Thread-${n + 1}`);
    assert.equal(new Thread({ name: '', target: function work() {} }).name, `Thread-${n + 2} (work)`);
    assert.equal(new Timer(10, function later() {}, { name: '' }).name, `Thread-${n + 3} (later)`);
    assert.equal(new Thread({ name: 'given' }).name, 'given');
  });
});
