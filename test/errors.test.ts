/**
 * SPEC "Conventions", Errors: every error class is exported, extends the right base, has a
 * `code`, and `instanceof` works across the ESM and CommonJS builds loaded side by side and for
 * errors rebuilt after crossing a thread.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as esmModule from 'threadkit';
import { threadError } from './helpers-transport.js';

/** The ESM build's exports as a plain object (looked up by name below). */
const esm = { ...esmModule };
const cjs = createRequire(import.meta.url)('threadkit') as typeof esmModule;

type ErrorName =
  | 'ThreadError'
  | 'BrokenBarrierError'
  | 'QueueEmpty'
  | 'QueueFull'
  | 'QueueShutDown'
  | 'CancelledError'
  | 'TimeoutError'
  | 'InvalidStateError'
  | 'ThreadExitError'
  | 'BrokenPoolError';

/** SPEC's classes, their base, and their code. */
const classes: [ErrorName, 'Error' | 'ThreadError', string][] = [
  ['ThreadError', 'Error', 'ERR_THREADKIT_THREAD'],
  ['BrokenBarrierError', 'ThreadError', 'ERR_THREADKIT_BROKEN_BARRIER'],
  ['QueueEmpty', 'Error', 'ERR_THREADKIT_QUEUE_EMPTY'],
  ['QueueFull', 'Error', 'ERR_THREADKIT_QUEUE_FULL'],
  ['QueueShutDown', 'Error', 'ERR_THREADKIT_QUEUE_SHUT_DOWN'],
  ['CancelledError', 'Error', 'ERR_THREADKIT_CANCELLED'],
  ['TimeoutError', 'Error', 'ERR_THREADKIT_TIMEOUT'],
  ['InvalidStateError', 'Error', 'ERR_THREADKIT_INVALID_STATE'],
  ['ThreadExitError', 'Error', 'ERR_THREADKIT_THREAD_EXIT'],
  ['BrokenPoolError', 'Error', 'ERR_THREADKIT_BROKEN_POOL'],
];

describe('the error classes', () => {
  for (const [name, base, code] of classes) {
    test(`${name} is exported from both builds, extends ${base}, has code ${code}`, () => {
      for (const [build, mod] of [
        ['ESM', esm],
        ['CommonJS', cjs],
      ] as const) {
        const Cls = mod[name] as unknown as new (m?: string, o?: ErrorOptions) => Error & { code: string };
        assert.equal(typeof Cls, 'function', `${build} exports ${name}`);
        const Base = base === 'Error' ? Error : mod.ThreadError;
        assert.equal(Object.getPrototypeOf(Cls.prototype), Base.prototype, `${build}: ${name} extends ${base}`);
        const e = new Cls('msg', { cause: 'why' });
        assert.ok(e instanceof Cls);
        assert.ok(e instanceof Error);
        assert.ok(e instanceof Base);
        assert.equal(e.code, code);
        assert.equal((Cls as unknown as { code: string }).code, code, 'the class carries its code too');
        assert.equal(e.name, name);
        assert.equal(e.message, 'msg');
        assert.equal(e.cause, 'why');
        assert.match(String(e.stack), new RegExp(`^${name}: msg\\n`));
        assert.equal(Object.prototype.toString.call(e), '[object Error]');
        if (base === 'Error' && name !== 'ThreadError')
          assert.equal(e instanceof mod.ThreadError, false, `${name} is not a ThreadError`);
      }
    });
  }

  test('the codes are distinct, and each class rejects the others', () => {
    assert.equal(new Set(classes.map(([, , code]) => code)).size, classes.length);
    for (const [a] of classes) {
      for (const [b, base] of classes) {
        if (a === b || (a === 'ThreadError' && base === 'ThreadError')) continue;
        const err = new esm[b]('x');
        assert.equal(err instanceof esm[a], false, `a ${b} is not a ${a}`);
      }
    }
  });

  test("TimeoutError's name is 'TimeoutError', and a DOMException TimeoutError is not one", () => {
    assert.equal(new esm.TimeoutError().name, 'TimeoutError');
    assert.equal(esm.TimeoutError.name, 'TimeoutError');
    assert.equal(new DOMException('t', 'TimeoutError') instanceof esm.TimeoutError, false);
    assert.equal({ name: 'TimeoutError', code: 'ERR_THREADKIT_TIMEOUT' } instanceof esm.TimeoutError, false);
  });

  test('ThreadExitError carries exitCode', () => {
    assert.equal(new esm.ThreadExitError('x', { exitCode: 9 }).exitCode, 9);
    assert.equal(typeof new esm.ThreadExitError('x').exitCode, 'number');
  });

  test('non-errors are instances of none', () => {
    for (const [name] of classes) {
      for (const v of [null, undefined, 1, 'ThreadError', {}, new Error('x'), new TypeError('x')]) {
        assert.equal(v instanceof esm[name], false, `${String(v)} instanceof ${name}`);
      }
    }
  });

  test('a user subclass works with ordinary instanceof', () => {
    class PoolStopped extends esm.ThreadError {}
    const e = new PoolStopped('stopped');
    assert.ok(e instanceof PoolStopped);
    assert.ok(e instanceof esm.ThreadError);
    assert.ok(e instanceof cjs.ThreadError);
    assert.equal(e.code, 'ERR_THREADKIT_THREAD');
    assert.equal(new esm.ThreadError('x') instanceof PoolStopped, false);
    assert.equal(new esm.BrokenBarrierError('x') instanceof PoolStopped, false);
  });
});

describe('instanceof across the ESM and CommonJS builds', () => {
  test('the two builds are two copies of the classes', () => {
    for (const [name] of classes) assert.notEqual(esm[name], cjs[name], name);
  });

  for (const [name, base] of classes) {
    test(`${name}: each build's instance is an instance of the other's class`, () => {
      const fromEsm = new esm[name]('e');
      const fromCjs = new cjs[name]('c');
      assert.ok(fromEsm instanceof cjs[name]);
      assert.ok(fromCjs instanceof esm[name]);
      if (base === 'ThreadError') {
        assert.ok(fromEsm instanceof cjs.ThreadError);
        assert.ok(fromCjs instanceof esm.ThreadError);
      }
    });
  }
});

describe('instanceof for errors rebuilt after crossing a thread', () => {
  test('made by either build in a thread, each class arrives as an instance of both builds', async () => {
    const names = classes.map(([n]) => n);
    const e = await threadError(
      async (url: string, names: string[]) => {
        const { createRequire } = await import('node:module');
        const esmInThread: any = await import('threadkit');
        const cjsInThread: any = createRequire(url)('threadkit');
        const errors = names.flatMap((n) => [new esmInThread[n](`esm ${n}`), new cjsInThread[n](`cjs ${n}`)]);
        throw new AggregateError(errors, 'both builds');
      },
      [import.meta.url, names],
    );
    assert.ok(e instanceof AggregateError);
    assert.equal(e.errors.length, names.length * 2);
    for (const [i, [name, base, code]] of classes.entries()) {
      for (const [k, err] of [e.errors[2 * i], e.errors[2 * i + 1]].entries()) {
        const label = `${name} made by the ${k === 0 ? 'ESM' : 'CommonJS'} build`;
        assert.ok(err instanceof esm[name], `${label} instanceof ESM ${name}`);
        assert.ok(err instanceof cjs[name], `${label} instanceof CommonJS ${name}`);
        assert.ok(err instanceof Error);
        if (base === 'ThreadError') assert.ok(err instanceof esm.ThreadError && err instanceof cjs.ThreadError);
        assert.equal(err.code, code);
        assert.equal(err.name, name);
        assert.equal(err.message, `${k === 0 ? 'esm' : 'cjs'} ${name}`);
      }
    }
  });

  test('an error a thread gets from a thread started by the CommonJS build crosses again intact', async () => {
    const e = await threadError(
      async (url: string) => {
        const { createRequire } = await import('node:module');
        const tk: any = createRequire(url)('threadkit');
        const inner = new tk.Thread({
          target: async () => {
            const { Lock } = await import('threadkit');
            new Lock().release(); // ThreadError: release of an unlocked lock
          },
        });
        inner.start();
        await inner.result(); // rethrows the rebuilt ThreadError
      },
      [import.meta.url],
    );
    assert.ok(e instanceof esm.ThreadError);
    assert.ok(e instanceof cjs.ThreadError);
    assert.equal(e.code, 'ERR_THREADKIT_THREAD');
    // Each hop appends the stack of the thread that threw: main's header, then each thread's.
    const headers = String(e.stack)
      .split('\n')
      .filter((line) => line.startsWith(`ThreadError: ${e.message}`));
    assert.ok(headers.length >= 3, `the stacks of both hops are kept:\n${e.stack}`);
  });
});
