/**
 * Issue 10, the transport's part (SPEC "What crosses a thread boundary"): errors of user classes
 * extending built-ins other than Error, stacks of errors passed as data, uncloneable causes, and
 * `move()` nested in a result.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runThread, sharedFlags, threadError, waitWhile } from './helpers-transport.js';

/** How many remote sections a stack holds. */
function sections(stack: unknown): number {
  return String(stack).split('--- thrown in ').length - 1;
}

describe('a user class extending a built-in other than Error', () => {
  test('thrown in a thread, it arrives as an instance of that built-in, named after the user class', async () => {
    const e = await threadError(() => {
      class MyTypeError extends TypeError {}
      class Base extends SyntaxError {}
      class Deeper extends Base {}
      class MyAggregate extends AggregateError {}
      throw new AggregateError(
        [new MyTypeError('t'), new Deeper('d'), new MyAggregate([new RangeError('inner')], 'a')],
        'user classes',
      );
    });
    const [typeError, deeper, aggregate] = e.errors;
    assert.equal(Object.getPrototypeOf(typeError), TypeError.prototype);
    assert.equal(typeError.name, 'MyTypeError');
    assert.equal(typeError.message, 't');
    assert.equal(Object.getPrototypeOf(deeper), SyntaxError.prototype, 'the nearest built-in up the chain');
    assert.equal(deeper.name, 'Deeper');
    assert.ok(aggregate instanceof AggregateError);
    assert.equal(aggregate.name, 'MyAggregate');
    assert.ok(aggregate.errors[0] instanceof RangeError);
  });

  test('passed to a thread as an argument, it arrives as that built-in too', async () => {
    class MyRangeError extends RangeError {}
    const r = await runThread(
      (e: Error) => ({ isRange: e instanceof RangeError, name: e.name, message: e.message }),
      [new MyRangeError('out')],
    );
    assert.deepEqual(r, { isRange: true, name: 'MyRangeError', message: 'out' });
  });
});

describe('the stack of an error', () => {
  test('passed as data it travels unchanged, however many hops; each actual throw adds one section', async () => {
    const original = new RangeError('as data');
    const stack = original.stack;
    let e: Error = original;
    for (let hop = 0; hop < 3; hop++) e = await runThread((x: Error) => ({ x }), [e]).then((r) => r.x);
    assert.ok(e instanceof RangeError);
    assert.equal(e.stack, stack, 'three round trips as data leave the stack as it was');

    const thrownOnce = await threadError((x: Error) => Promise.reject(x), [e]);
    assert.equal(sections(thrownOnce.stack), 1, 'thrown once: one section');
    assert.ok(String(thrownOnce.stack).includes(String(stack)), "the thrower's stack is kept");
    const passedOn = await runThread((x: Error) => [x], [thrownOnce]).then((r) => r[0] as Error);
    assert.equal(passedOn.stack, thrownOnce.stack, 'passed on as data: no new section');
    const thrownTwice = await threadError((x: Error) => Promise.reject(x), [passedOn]);
    assert.equal(sections(thrownTwice.stack), 2, 'thrown again: a second section');
  });

  test('an error returned by a thread keeps its stack: it was not thrown', async () => {
    const r = await runThread(() => {
      function madeInTheThread(): Error {
        return new TypeError('returned');
      }
      return { error: madeInTheThread() };
    });
    assert.equal(sections(r.error.stack), 0);
    assert.match(String(r.error.stack), /^TypeError: returned\n.*madeInTheThread/s);
  });
});

describe('an uncloneable cause', () => {
  test('is dropped, not stringified, whether thrown or passed as data', async () => {
    const e = await threadError(() => {
      throw new AggregateError(
        [new Error('fn', { cause: () => 1 }), new Error('deep', { cause: { ok: 1, fn: () => 2 } })],
        'causes',
        { cause: Symbol('s') },
      );
    });
    assert.equal(Object.hasOwn(e, 'cause'), false, 'a symbol cause is dropped');
    for (const inner of e.errors) assert.equal(Object.hasOwn(inner, 'cause'), false, `${inner.message}: dropped`);
    const r = await runThread(
      (x: Error) => ({ has: Object.hasOwn(x, 'cause'), message: x.message }),
      [new Error('as data', { cause: new WeakMap() })],
    );
    assert.deepEqual(r, { has: false, message: 'as data' });
  });
});

describe('move() nested in a result', () => {
  test('moves the buffers of a move() at any depth, leaving no wrapper behind', async () => {
    const flags = sharedFlags(4);
    const r = await runThread(
      async (flags: Int32Array) => {
        const { move } = await import('threadkit');
        const ab = new ArrayBuffer(1024);
        new Uint8Array(ab).fill(7);
        const view = new Float64Array(8).fill(1.5);
        const listed = new ArrayBuffer(16);
        const kept = new ArrayBuffer(16);
        // After the result is posted (the outcome goes before this timer), say which buffers left.
        setTimeout(() => {
          Atomics.store(flags, 1, ab.byteLength);
          Atomics.store(flags, 2, view.buffer.byteLength);
          Atomics.store(flags, 3, kept.byteLength + listed.byteLength);
          Atomics.store(flags, 0, 1);
          Atomics.notify(flags, 0);
        });
        // A cycle whose back-reference comes before the move(): the copy must close on itself.
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        cyclic.small = move(new ArrayBuffer(8));
        return {
          cyclic,
          buf: move(ab),
          deep: [new Map([['view', move(view)]])],
          // An explicit transfer list moves what it lists, and only that.
          pair: move({ listed, kept }, [listed]),
        };
      },
      [flags],
    );
    assert.ok(r.buf instanceof ArrayBuffer, 'no { value, transfer } wrapper');
    assert.deepEqual([...new Uint8Array(r.buf).slice(0, 3)], [7, 7, 7]);
    const view = r.deep[0].get('view');
    assert.ok(view instanceof Float64Array);
    assert.equal(view[7], 1.5);
    assert.ok(r.pair.listed instanceof ArrayBuffer && r.pair.kept instanceof ArrayBuffer);
    assert.equal(r.cyclic.self, r.cyclic, 'the cycle is kept');
    assert.ok(r.cyclic.small instanceof ArrayBuffer && r.cyclic.small.byteLength === 8);
    await waitWhile(flags, 0, 0);
    assert.equal(flags[1], 0, 'the nested buffer was moved (detached in the thread)');
    assert.equal(flags[2], 0, "the view's buffer was moved");
    assert.equal(flags[3], 16, 'only the listed buffer of an explicit transfer list was moved');
  });
});
