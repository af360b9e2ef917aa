/**
 * What a thread can run (SPEC "Code that runs in a thread"): self-contained functions of every
 * accepted form, module exports through `task()`, subclasses overriding `run()`; and what it
 * refuses at the call site. Scenarios run on the main thread and inside a thread (see `both`).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { TaskRef, Thread, task } from 'threadkit';
import { type Assert, both, FIXTURES, type Fixtures } from './helpers-thread.js';

// ---- function targets ------------------------------------------------------------------------

both('arrow, function declaration, function expression and async targets run with their args', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  function declared(a: number, b: number): number {
    return a * b;
  }
  const expression = (s: string, n: number): string => s.repeat(n);
  const asyncArrow = async (ms: number, v: string): Promise<string> => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `${v} after ${ms}`;
  };
  async function asyncDeclared(x: number): Promise<number[]> {
    await null;
    return [x, x + 1];
  }
  const cases: [(...a: any[]) => unknown, unknown[], unknown][] = [
    [(a: number, b: number) => a + b, [2, 3], 5],
    [declared, [6, 7], 42],
    [expression, ['ab', 3], 'ababab'],
    [asyncArrow, [20, 'done'], 'done after 20'],
    [asyncDeclared, [9], [9, 10]],
    [() => undefined, [], undefined],
  ];
  const threads = cases.map(([target, args]) => new Thread({ target, args }));
  for (const t of threads) t.start();
  for (let i = 0; i < cases.length; i++) {
    assert.deepEqual(await (threads[i] as Thread).result(), (cases[i] as unknown[])[2], `case ${i}`);
  }
});

both('`this` is undefined in a function target, and it runs in strict mode', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const t = new Thread({
    target: function (this: unknown) {
      // A plain call of a nested function gets `this` undefined only in strict code.
      const inner = function (this: unknown): unknown {
        return this;
      };
      return { outer: this === undefined, inner: inner() === undefined };
    },
  });
  t.start();
  assert.deepEqual(await t.result(), { outer: true, inner: true });
});

both('args are cloned: the target gets a copy, and SharedArrayBuffers arrive shared', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const obj = { list: [1, 2, 3], when: new Date(0), map: new Map([['k', 1n]]) };
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const t = new Thread({
    target: (o: typeof obj, s: Int32Array) => {
      o.list.push(4);
      Atomics.store(s, 1, 99);
      return { got: o, isDate: o.when instanceof Date, isMap: o.map instanceof Map };
    },
    args: [obj, shared],
  });
  t.start();
  const r = (await t.result()) as { got: typeof obj; isDate: boolean; isMap: boolean };
  assert.deepEqual(r.got.list, [1, 2, 3, 4]);
  assert.equal(r.isDate && r.isMap, true);
  assert.deepEqual(obj.list, [1, 2, 3], 'the creator’s object is untouched');
  assert.equal(Atomics.load(shared, 1), 99, 'the SharedArrayBuffer is shared');
});

both('`transfer` moves an ArrayBuffer: detached on the sending side, intact in the thread', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const sum = (b: ArrayBuffer) => [b.byteLength, new Uint8Array(b).reduce((s, x) => s + x, 0)];
  const moved = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer;
  const t = new Thread({ target: sum, args: [moved], transfer: [moved] });
  t.start();
  assert.equal(moved.byteLength, 0, 'detached as soon as start() returns');
  assert.deepEqual(await t.result(), [8, 36]);
  // Without `transfer` the same call copies: the buffer stays usable here.
  const copied = new Uint8Array([1, 2, 3]).buffer;
  const c = new Thread({ target: sum, args: [copied] });
  c.start();
  assert.deepEqual(await c.result(), [3, 6]);
  assert.equal(copied.byteLength, 3);
  // A view whose buffer is transferred arrives as a view over the moved buffer.
  const view = new Float64Array([0.5, 1.5]);
  const v = new Thread({
    target: (f: Float64Array) => [f.length, f[0]! + f[1]!],
    args: [view],
    transfer: [view.buffer],
  });
  v.start();
  assert.equal(view.buffer.byteLength, 0);
  assert.deepEqual(await v.result(), [2, 2]);
});

both('functions with nested function and arrow definitions (where tsx inserts __name) work as targets', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  function outer(n: number): unknown {
    const inner = (k: number): number => k + 1;
    function helper(k: number): number {
      return inner(k) * 2;
    }
    const table = { scale: (x: number) => x * 10 };
    class Box {
      constructor(readonly v: number) {}
      get twice(): number {
        return this.v * 2;
      }
    }
    return { value: new Box(helper(table.scale(n))).twice, names: [inner.name, helper.name, Box.name] };
  }
  const t = new Thread({ target: outer, args: [1] });
  t.start();
  assert.deepEqual(await t.result(), { value: 44, names: ['inner', 'helper', 'Box'] });
});

both('a reference to an outer variable fails, naming the variable and saying how to fix it', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const secretFactor = 7;
  const t = new Thread({ target: (n: number) => n * secretFactor, args: [6] });
  t.start();
  await assert.rejects(t.result(), (e: Error) => {
    assert.ok(e instanceof ReferenceError, `a ReferenceError, got ${e?.name}`);
    assert.match(e.message, /secretFactor/);
    assert.match(e.message, /argument|args/, 'says to pass it as an argument');
    assert.match(e.message, /import/, 'says to import it inside the function');
    return true;
  });
});

test('a reference to an imported binding fails the same way, naming it', async () => {
  const t = new Thread({ target: () => typeof task('file:///x.mjs') });
  t.start();
  await assert.rejects(t.result(), (e: Error) => {
    assert.ok(e instanceof ReferenceError);
    assert.match(e.message, /\btask\b/);
    assert.match(e.message, /import/);
    return true;
  });
});

test('run() called directly runs the target in the calling thread, as in Python', async () => {
  const { currentThread } = await import('threadkit');
  const t = new Thread({ target: (a: number, b: number) => a + b, args: [1, 2] });
  assert.equal(t.run(), 3);
  assert.equal(currentThread().name, 'MainThread');
  assert.equal(new Thread().run(), undefined);
});

// ---- module targets --------------------------------------------------------------------------

both(
  'module targets via task(url, name) work for .mjs, .js, .cjs and .ts (under tsx), default export included (CommonJS: module.exports, or exports.default with __esModule)',
  async (f: Fixtures) => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { fileURLToPath } = await import('node:url');
    const { Thread, task } = await import('threadkit');
    const cases: [ReturnType<typeof task>, unknown[], unknown][] = [
      [task(f.mjs, 'double'), [21], 42],
      [task(new URL(f.mjs), 'slowSum'), [2, 3], 5],
      [task(fileURLToPath(f.mjs)), ['you'], 'hello you'],
      [task(f.mjs, 'runsInWorker'), [], true],
      [task(f.js, 'triple'), [5], 15],
      [task(f.js), [4], -4],
      [task(f.cjs, 'addOffset'), [1], 101],
      [task(f.cjs, 'runsInWorker'), [], true],
      [task(f.cjsEsModule), [6, 7], 42],
      [task(f.cjsEsModule, 'default'), [2, 3], 6],
      [task(f.cjsEsModule, 'helper'), [1], 2],
      [task(f.cjsFunction), [6, 7], 13],
      [task(f.cjsFunction, 'named'), ['x'], 'named x'],
      [task(f.ts, 'manhattan'), [{ x: -3, y: 4 }], 7],
      [task(f.ts), ['hi'], 'HI!'],
      [task(f.ts, 'runsInWorker'), [], true],
    ];
    const threads = cases.map(([target, args]) => new Thread({ target, args }));
    for (const t of threads) t.start();
    for (let i = 0; i < cases.length; i++) {
      const [ref, , expected] = cases[i] as (typeof cases)[number];
      const got = await (threads[i] as Thread).result().catch((e: Error) => `rejected: ${e.message}`);
      assert.deepEqual(got, expected, `${ref.url} # ${ref.exportName}`);
    }
  },
  { args: [FIXTURES] },
);

both(
  'module state is per thread, and a module target’s error reaches result() with its class',
  async (f: Fixtures) => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Thread, task } = await import('threadkit');
    const t = new Thread({
      target: async (url: string) => {
        const mod = (await import(url)) as { double(n: number): number; callsSoFar(): number };
        mod.double(1);
        mod.double(2);
        return mod.callsSoFar();
      },
      args: [f.mjs],
    });
    t.start();
    assert.equal(await t.result(), 2);
    const f2 = new Thread({ target: task(f.mjs, 'fail'), args: ['out of range'] });
    f2.start();
    await assert.rejects(f2.result(), (e: Error) => e instanceof RangeError && e.message === 'out of range');
  },
  { args: [FIXTURES] },
);

both(
  'a missing module, a missing export or an export that is not a function is the thread’s error, naming module and export',
  async (f: Fixtures) => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Thread, task } = await import('threadkit');
    const run = (ref: ReturnType<typeof task>): Promise<unknown> => {
      const t = new Thread({ target: ref });
      t.start();
      return t.result();
    };
    await assert.rejects(run(task(f.missing, 'work')), (e: Error) => {
      assert.match(e.message, /fixtures\/threads\/does-not-exist\.mjs/, 'names the module');
      assert.match(e.message, /\bwork\b/, 'names the export');
      return true;
    });
    await assert.rejects(run(task(f.mjs, 'noSuchExport')), (e: Error) => {
      assert.match(e.message, /fixtures\/threads\/mod\.mjs/);
      assert.match(e.message, /noSuchExport/);
      return true;
    });
    await assert.rejects(run(task(f.mjs, 'notAFunction')), (e: Error) => {
      assert.match(e.message, /mod\.mjs/);
      assert.match(e.message, /notAFunction/);
      return true;
    });
    await assert.rejects(run(task(f.cjs)), (e: Error) => {
      assert.match(e.message, /mod\.cjs/);
      assert.match(e.message, /default/);
      return true;
    });
  },
  { args: [FIXTURES] },
);

test('task() takes an absolute URL or path; a relative specifier or a non-string is a TypeError', () => {
  assert.ok(task(FIXTURES.mjs, 'double') instanceof TaskRef);
  assert.equal(task(FIXTURES.mjs).exportName, 'default');
  assert.equal(task(fileURLToPath(FIXTURES.mjs)).url, FIXTURES.mjs);
  assert.equal(task(new URL(FIXTURES.mjs), 'double').url, FIXTURES.mjs);
  for (const bad of ['./relative.js', '../up.mjs', 'relative.js']) {
    assert.throws(
      () => task(bad),
      (e: Error) => e instanceof TypeError && e.message.includes(bad) && /absolute|resolve/.test(e.message),
      bad,
    );
  }
  assert.throws(() => task(42 as unknown as string), TypeError);
  assert.throws(() => task(FIXTURES.mjs, '' as string), TypeError);
});

// ---- subclasses ------------------------------------------------------------------------------

both(
  'a subclass overriding run() runs it in the new thread, with its helper methods, getters and own fields',
  async () => {
    const assert: Assert = (await import('node:assert/strict')).default;
    const { Event, Thread, getIdent } = await import('threadkit');
    class Counter extends Thread<unknown> {
      base: number;
      tags: Map<string, number[]>;
      reached: InstanceType<typeof Event>;
      setInRun = 'initial';
      constructor(base: number, reached: InstanceType<typeof Event>) {
        super({ name: 'counter' });
        this.base = base;
        this.tags = new Map([['a', [1, 2]]]);
        this.reached = reached;
      }
      get doubled(): number {
        return this.base * 2;
      }
      helper(k: number): number {
        return k + this.doubled;
      }
      override run(): unknown {
        this.setInRun = 'set by run';
        this.reached.set();
        return {
          value: this.helper(1),
          tags: [...this.tags],
          tagsIsMap: this.tags instanceof Map,
          setInRun: this.setInRun,
        };
      }
    }
    const reached = new Event();
    const c = new Counter(10, reached);
    c.start();
    c.base = 1000; // the thread got a copy of the fields at start(): this change is not seen there
    const r = (await c.result()) as Record<string, unknown>;
    assert.deepEqual(r, {
      value: 21,
      tags: [['a', [1, 2]]],
      tagsIsMap: true,
      setInRun: 'set by run',
    });
    assert.equal(reached.isSet(), true, 'a primitive field arrives as the same primitive');
    assert.equal(c.setInRun, 'initial', 'a field set by run() is not seen by the creator');
    assert.notEqual(c.ident, getIdent());
  },
);

both('subclass chains call overridden methods through super, and run() can be async and call the target', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  class Base extends Thread {
    greet(): string {
      return 'base';
    }
    override async run(): Promise<unknown> {
      await null;
      return [this.greet(), await super.run()];
    }
  }
  class Derived extends Base {
    override greet(): string {
      return `derived+${super.greet()}`;
    }
  }
  const d = new Derived({ target: (x: number) => x * 2, args: [21] });
  d.start();
  assert.deepEqual(await d.result(), ['derived+base', 42]);
});

both('methods of a subclass see no outer variables, like a function target', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, currentThread } = await import('threadkit');
  class Who extends Thread {
    override run(): unknown {
      return currentThread().name;
    }
  }
  // `currentThread` is a variable of the enclosing scope: run() must not see it.
  const w = new Who({ name: 'who' });
  w.start();
  await assert.rejects(w.result(), (e: Error) => e instanceof ReferenceError && /currentThread/.test(e.message));
});

both('inside run(), currentThread() describes the new thread and is not the Thread object', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  class Probe extends Thread {
    override async run(): Promise<unknown> {
      const { currentThread, getIdent } = await import('threadkit');
      const me = currentThread();
      return {
        isThis: (me as unknown) === this,
        name: me.name,
        ident: me.ident,
        getIdent: getIdent(),
        thisIdent: this.ident,
        thisName: this.name,
      };
    }
  }
  const p = new Probe({ name: 'probe' });
  p.start();
  const r = (await p.result()) as Record<string, unknown>;
  assert.deepEqual(r, {
    isThis: false,
    name: 'probe',
    ident: p.ident,
    getIdent: p.ident,
    thisIdent: p.ident,
    thisName: 'probe',
  });
});

// ---- bad input at the call site --------------------------------------------------------------

both('bad targets and args throw TypeError at the call site, saying what is accepted and what came', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread, Timer } = await import('threadkit');
  const accepted = /function|TaskRef|task\(/;
  for (const [bad, came] of [
    [42, /42/],
    ['work', /string/],
    [{ run() {} }, /object/],
    [null, /null/],
  ] as [unknown, RegExp][]) {
    assert.throws(
      () => new Thread({ target: bad as () => void }),
      (e: Error) => e instanceof TypeError && accepted.test(e.message) && came.test(e.message),
      String(bad),
    );
  }
  const shorthand = {
    m(): number {
      return 1;
    },
  }.m;
  const asyncShorthand = {
    async m(): Promise<number> {
      return 1;
    },
  }.m;
  const bound = function f(): number {
    return 1;
  }.bind(null);
  class AClass {}
  for (const [bad, what] of [
    [shorthand, /method shorthand/],
    [asyncShorthand, /method shorthand/],
    [bound, /bound|native/],
    [Math.max, /bound|native/],
    [AClass, /class/],
  ] as [() => unknown, RegExp][]) {
    assert.throws(
      () => new Thread({ target: bad }),
      (e: Error) => e instanceof TypeError && what.test(e.message) && /arrow function/.test(e.message),
      String(bad),
    );
  }
  assert.throws(() => new Timer(10, Math.max), TypeError);
  assert.throws(() => new Timer(10, 42 as unknown as () => void), TypeError);
  for (const [args, came] of [
    ['abc', /string/],
    [{ length: 1, 0: 'x' }, /object/],
    [7, /7/],
  ] as [unknown, RegExp][]) {
    assert.throws(
      () => new Thread({ target: () => 0, args: args as unknown[] }),
      (e: Error) =>
        e instanceof TypeError && /`args`/.test(e.message) && /array/.test(e.message) && came.test(e.message),
    );
  }
});

both('an argument that cannot be cloned is a TypeError naming where it sits (args[1].handler)', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const make = (args: unknown[]): void => {
    // If this did not throw, the thread would start: give it a harmless target.
    new Thread({ target: () => 0, args }).start();
  };
  assert.throws(
    () => make([1, { handler: () => 1 }]),
    (e: Error) => e instanceof TypeError && e.message.includes('args[1].handler'),
  );
  assert.throws(
    () => make([{ deep: [0, { s: Symbol('x') }] }]),
    (e: Error) => e instanceof TypeError && e.message.includes('args[0].deep[1].s'),
  );
  assert.throws(
    () => make(['ok', new WeakMap()]),
    (e: Error) => e instanceof TypeError && e.message.includes('args[1]'),
  );
  assert.throws(
    () => make([{ p: Promise.resolve(1) }]),
    (e: Error) => e instanceof TypeError && e.message.includes('args[0].p'),
  );
  const other = new Thread({ target: () => 0 });
  assert.throws(
    () => make([0, 0, other]),
    (e: Error) => e instanceof TypeError && e.message.includes('args[2]') && /Thread/.test(e.message),
  );
});

both('negative or NaN timeouts of join, joinSync and result are RangeErrors; non-numbers TypeErrors', async () => {
  const assert: Assert = (await import('node:assert/strict')).default;
  const { Thread } = await import('threadkit');
  const t = new Thread({ target: () => 1 });
  t.start();
  for (const timeout of [-1, -0.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
    await assert.rejects(t.join({ timeout }), RangeError, `join ${timeout}`);
    assert.throws(() => t.joinSync({ timeout }), RangeError, `joinSync ${timeout}`);
    await assert.rejects(t.result({ timeout }), RangeError, `result ${timeout}`);
  }
  await assert.rejects(t.join({ timeout: '10' as unknown as number }), TypeError);
  assert.throws(() => t.joinSync({ timeout: '10' as unknown as number }), TypeError);
  assert.equal(await t.result(), 1);
  // Still RangeError once the thread has finished: the check does not depend on the state.
  await assert.rejects(t.join({ timeout: -1 }), RangeError);
  assert.throws(() => t.joinSync({ timeout: -1 }), RangeError);
});

test('Thread options of the wrong type are TypeErrors', () => {
  assert.throws(() => new Thread({ name: 5 as unknown as string }), TypeError);
  assert.throws(() => new Thread({ daemon: 'yes' as unknown as boolean }), TypeError);
  assert.throws(() => new Thread('target' as unknown as object), TypeError);
  assert.throws(() => new Thread({ transfer: {} as unknown as [] }), TypeError);
  const t = new Thread();
  assert.throws(() => {
    t.name = 42 as unknown as string;
  }, TypeError);
  assert.throws(() => {
    t.daemon = 1 as unknown as boolean;
  }, TypeError);
});
