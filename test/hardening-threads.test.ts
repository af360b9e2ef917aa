/**
 * Issue 10, the threads' part (SPEC "Threads", "Code that runs in a thread"): subclasses with
 * `#private` and static members, excepthooks that fail, results nobody asked for that cannot be
 * sent, targets that do not compile on their own, and the empty name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lock, setExcepthook, Thread, Timer } from 'threadkit';
import { runProgram } from './helpers-thread.js';

describe('Thread subclasses with #private and static members', () => {
  test('private fields start from their initializers; private methods and accessors work in run()', async () => {
    class Secretive extends Thread {
      #secret = 40;
      #items = new Map([['a', 1]]);
      static #instances = 100;
      #bump(by: number): number {
        return this.#secret + by;
      }
      get #twice(): number {
        return this.#bump(1) * 2;
      }
      static count(): number {
        return Secretive.#instances;
      }
      setSecret(v: number): void {
        this.#secret = v;
      }
      override run(): unknown {
        return { bumped: this.#bump(2), twice: this.#twice, items: [...this.#items], count: Secretive.count() };
      }
    }
    const t = new Secretive();
    t.setSecret(1); // not carried: the thread's copy starts from the initializer
    t.start();
    assert.deepEqual(await t.result(), { bumped: 42, twice: 82, items: [['a', 1]], count: 100 });
  });

  test('a class whose private fields run() never touches runs, even one initialised from an outer variable', async () => {
    class Quiet extends Thread {
      // `Lock` is a variable of this module, which the thread cannot see: the field starts undefined.
      #guard = new Lock();
      holdsGuard(): boolean {
        return this.#guard.locked();
      }
      override run(): unknown {
        return 'ran';
      }
    }
    const q = new Quiet();
    assert.equal(q.holdsGuard(), false);
    q.start();
    assert.equal(await q.result(), 'ran');
  });

  test('static data (cloned at start()) and static methods (by source) are there through this.constructor', async () => {
    class Base extends Thread {
      static defaults = { step: 1, tags: ['x'] };
      static describe(): string {
        // biome-ignore lint/complexity/noThisInStatic: called on Derived, `this` must be Derived
        const self = this as typeof Base;
        return `${self.name} steps by ${self.defaults.step}`;
      }
      static get kind(): string {
        return 'static getter';
      }
      static weak = new WeakMap(); // cannot be cloned: left behind, start() does not fail
      static format = (n: number): string => `#${n}`;
    }
    class Derived extends Base {
      static override defaults = { step: 5, tags: ['y', 'z'] };
      override run(): unknown {
        const C = this.constructor as typeof Derived;
        return {
          name: C.name,
          describe: C.describe(),
          kind: C.kind,
          defaults: C.defaults,
          baseDefaults: Object.getPrototypeOf(C).defaults,
          formatted: C.format(7),
          weak: Object.hasOwn(Object.getPrototypeOf(C), 'weak'),
        };
      }
    }
    Derived.defaults = { step: 6, tags: ['changed before start'] };
    const d = new Derived();
    d.start();
    assert.deepEqual(await d.result(), {
      name: 'Derived',
      describe: 'Derived steps by 6',
      kind: 'static getter',
      defaults: { step: 6, tags: ['changed before start'] },
      baseDefaults: { step: 1, tags: ['x'] },
      formatted: '#7',
      weak: false,
    });
  });
});

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
