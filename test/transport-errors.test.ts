/**
 * SPEC "What crosses a thread boundary", rule 4: errors keep their built-in or threadkit class,
 * `name`, `message`, `cause` (nested errors too), own cloneable properties, and the stack of the
 * thread that threw, appended to the local stack; a user class arrives as `Error` named after it.
 * Checked for thrown errors (thread → main through `result()`), errors passed as arguments
 * (main → thread) and errors returned as values, nested at depth.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BrokenBarrierError,
  BrokenPoolError,
  CancelledError,
  InvalidStateError,
  Lock,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  ThreadError,
  ThreadExitError,
  TimeoutError,
} from 'threadkit';
import { runThread, threadError } from './helpers-transport.js';

/** What a thread reports about an error it received, to compare with the sent one. */
function describeError(e: any): Record<string, unknown> {
  return {
    ctor: e?.constructor?.name,
    name: e?.name,
    message: e?.message,
    isError: e instanceof Error,
  };
}

describe('thrown in a thread, an error arrives in main as the same class', () => {
  const builtins: [string, () => never, new (...a: any[]) => Error, string][] = [
    [
      'TypeError',
      () => {
        throw new TypeError('bad type');
      },
      TypeError,
      'bad type',
    ],
    [
      'RangeError',
      () => {
        throw new RangeError('out of range');
      },
      RangeError,
      'out of range',
    ],
    [
      'ReferenceError',
      () => {
        throw new ReferenceError('no ref');
      },
      ReferenceError,
      'no ref',
    ],
    ['SyntaxError (from JSON.parse)', () => JSON.parse('{') as never, SyntaxError, ''],
    [
      'EvalError',
      () => {
        throw new EvalError('eval');
      },
      EvalError,
      'eval',
    ],
    ['URIError (from decodeURIComponent)', () => decodeURIComponent('%') as never, URIError, 'URI malformed'],
    [
      'Error',
      () => {
        throw new Error('plain');
      },
      Error,
      'plain',
    ],
  ];
  for (const [what, fn, Cls, message] of builtins) {
    test(what, async () => {
      const e = await threadError(fn);
      assert.equal(Object.getPrototypeOf(e), Cls.prototype, `arrived as ${e?.constructor?.name}`);
      assert.equal(e.name, Cls.name);
      if (message) assert.equal(e.message, message);
      else assert.ok(e.message.length > 0);
    });
  }

  test('AggregateError with its errors, each of its own class and cause', async () => {
    const e = await threadError(() => {
      throw new AggregateError(
        [new RangeError('first'), new TypeError('second', { cause: new Error('why') }), 'not an error'],
        'several',
      );
    });
    assert.ok(e instanceof AggregateError);
    assert.equal(e.message, 'several');
    assert.equal(e.errors.length, 3);
    assert.ok(e.errors[0] instanceof RangeError);
    assert.equal(e.errors[0].message, 'first');
    assert.ok(e.errors[1] instanceof TypeError);
    assert.equal((e.errors[1] as any).cause.message, 'why');
    assert.equal(e.errors[2], 'not an error');
  });

  test('DOMException keeps its name and code (AbortError from a signal, DataCloneError)', async () => {
    const abort = await threadError(() => {
      throw AbortSignal.abort().reason;
    });
    assert.ok(abort instanceof DOMException);
    assert.equal(abort.name, 'AbortError');
    assert.equal(abort.code, 20);
    const clone = await threadError(() => {
      throw new DOMException('could not clone', 'DataCloneError');
    });
    assert.ok(clone instanceof DOMException);
    assert.deepEqual([clone.name, clone.message, clone.code], ['DataCloneError', 'could not clone', 25]);
  });

  test('threadkit errors raised by the library in a thread keep class and code', async () => {
    const e = await threadError(async () => {
      const tk = await import('threadkit');
      const out: unknown[] = [];
      try {
        new tk.Lock().release();
      } catch (err) {
        out.push(err);
      }
      const b = new tk.Barrier(2);
      b.abort();
      try {
        b.waitSync();
      } catch (err) {
        out.push(err);
      }
      const slow = new tk.Thread({ target: () => new Promise((r) => setTimeout(r, 60_000)), daemon: true });
      slow.start();
      try {
        await slow.result({ timeout: 1 });
      } catch (err) {
        out.push(err);
      }
      await slow.terminate();
      const exits = new tk.Thread({ target: () => process.exit(3) });
      exits.start();
      try {
        await exits.result();
      } catch (err) {
        out.push(err);
      }
      throw new AggregateError(out, 'library errors');
    });
    assert.ok(e instanceof AggregateError);
    const [released, broken, timeout, exited] = e.errors;
    assert.ok(released instanceof ThreadError);
    assert.equal(released.code, 'ERR_THREADKIT_THREAD');
    assert.ok(broken instanceof BrokenBarrierError);
    assert.ok(broken instanceof ThreadError);
    assert.equal(broken.code, 'ERR_THREADKIT_BROKEN_BARRIER');
    assert.ok(timeout instanceof TimeoutError);
    assert.equal(timeout.name, 'TimeoutError');
    assert.equal(timeout.code, 'ERR_THREADKIT_TIMEOUT');
    assert.ok(exited instanceof ThreadExitError);
    assert.equal(exited.exitCode, 3);
    assert.equal(exited.code, 'ERR_THREADKIT_THREAD_EXIT');
  });

  test('every threadkit class made in a thread arrives as that class, with code and name', async () => {
    const e = await threadError(async () => {
      const tk: any = await import('threadkit');
      const names = [
        'ThreadError',
        'BrokenBarrierError',
        'QueueEmpty',
        'QueueFull',
        'QueueShutDown',
        'CancelledError',
        'TimeoutError',
        'InvalidStateError',
        'BrokenPoolError',
      ];
      const errors = names.map((n) => new tk[n](`a ${n}`));
      errors.push(new tk.ThreadExitError('gone', { exitCode: 7 }));
      throw new AggregateError(errors, 'all');
    });
    const expected: [new (...a: any[]) => Error, string][] = [
      [ThreadError, 'ERR_THREADKIT_THREAD'],
      [BrokenBarrierError, 'ERR_THREADKIT_BROKEN_BARRIER'],
      [QueueEmpty, 'ERR_THREADKIT_QUEUE_EMPTY'],
      [QueueFull, 'ERR_THREADKIT_QUEUE_FULL'],
      [QueueShutDown, 'ERR_THREADKIT_QUEUE_SHUT_DOWN'],
      [CancelledError, 'ERR_THREADKIT_CANCELLED'],
      [TimeoutError, 'ERR_THREADKIT_TIMEOUT'],
      [InvalidStateError, 'ERR_THREADKIT_INVALID_STATE'],
      [BrokenPoolError, 'ERR_THREADKIT_BROKEN_POOL'],
      [ThreadExitError, 'ERR_THREADKIT_THREAD_EXIT'],
    ];
    assert.equal(e.errors.length, expected.length);
    for (const [i, [Cls, code]] of expected.entries()) {
      const err = e.errors[i];
      assert.ok(err instanceof Cls, `${Cls.name}: arrived as ${err?.constructor?.name}`);
      assert.equal(Object.getPrototypeOf(err), Cls.prototype, `${Cls.name} is rebuilt from this copy's class`);
      assert.equal(err.name, Cls.name);
      assert.equal((err as any).code, code);
    }
    assert.equal(e.errors[0].message, 'a ThreadError');
    assert.equal(e.errors[9].exitCode, 7);
  });
});

describe('what an error carries', () => {
  test('cause, nested: an error chain of different classes, a plain object, a primitive', async () => {
    const lock = new Lock();
    const e = await threadError(
      (l: Lock) => {
        const low = new RangeError('low', { cause: { detail: [1, 2], lock: l } });
        throw new Error('top', { cause: new TypeError('mid', { cause: low }) });
      },
      [lock],
    );
    assert.equal(e.message, 'top');
    assert.ok(e.cause instanceof TypeError);
    assert.equal(e.cause.message, 'mid');
    assert.ok(e.cause.cause instanceof RangeError);
    assert.equal(e.cause.cause.message, 'low');
    assert.deepEqual(e.cause.cause.cause.detail, [1, 2]);
    assert.equal(e.cause.cause.cause.lock, lock, 'a primitive in a cause is the same primitive');
    assert.equal(Object.keys(e).includes('cause'), false, 'cause stays a non-enumerable own property');
  });

  test('an explicit cause of undefined is kept as an own property; no cause stays absent', async () => {
    const e = await threadError(() => {
      throw new AggregateError([new Error('with', { cause: undefined }), new Error('without')], 'x');
    });
    assert.equal(Object.hasOwn(e.errors[0], 'cause'), true);
    assert.equal(e.errors[0].cause, undefined);
    assert.equal(Object.hasOwn(e.errors[1], 'cause'), false);
  });

  test('own cloneable properties are kept (nested data, a primitive); uncloneable ones are dropped', async () => {
    const e = await threadError(async () => {
      const tk = await import('threadkit');
      throw Object.assign(new RangeError('with props'), {
        code: 'E_CUSTOM',
        status: 418,
        details: { list: [1, 'two'], when: new Date(5) },
        lock: new tk.Lock(),
        handler: () => 1,
        sym: Symbol('s'),
        weak: new WeakMap(),
        deepFn: { ok: 1, fn: () => 2 },
      });
    });
    assert.equal(Object.getPrototypeOf(e), RangeError.prototype);
    assert.equal(e.message, 'with props');
    assert.equal(e.code, 'E_CUSTOM');
    assert.equal(e.status, 418);
    assert.deepEqual(e.details, { list: [1, 'two'], when: new Date(5) });
    assert.equal(e.lock instanceof Lock, true);
    for (const k of ['handler', 'sym', 'weak', 'deepFn']) assert.equal(k in e, false, `${k} dropped`);
  });

  test('a Node system error keeps errno, code, syscall and path', async () => {
    const e = await threadError(async () => {
      const fs = await import('node:fs');
      fs.readFileSync('/nonexistent/threadkit-transport-test');
    });
    assert.equal(e instanceof Error, true);
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.syscall, 'open');
    assert.equal(e.path, '/nonexistent/threadkit-transport-test');
    assert.equal(typeof e.errno, 'number');
  });

  test('the remote stack is appended to the local one', async () => {
    const e = await threadError(() => {
      function deepInsideTheThread(): never {
        throw new TypeError('with a stack');
      }
      deepInsideTheThread();
    });
    assert.ok(e instanceof TypeError);
    const stack = String(e.stack);
    assert.ok(stack.startsWith('TypeError: with a stack\n'), stack);
    const remote = stack.indexOf('deepInsideTheThread');
    assert.ok(remote > 0, `the thread's frame is in the stack:\n${stack}`);
    const secondHeader = stack.indexOf('TypeError: with a stack', 1);
    assert.ok(secondHeader > 0 && secondHeader < remote, 'the remote stack (its own header first) comes after');
  });

  test('a user error class arrives as Error named after the class; an explicit name wins', async () => {
    const e = await threadError(() => {
      class ParseFailure extends Error {}
      class Renamed extends TypeError {
        constructor(m: string) {
          super(m);
          this.name = 'CustomName';
        }
      }
      class WithFields extends Error {
        constructor(
          m: string,
          public line: number,
        ) {
          super(m);
        }
      }
      throw new AggregateError([new ParseFailure('p'), new Renamed('r'), new WithFields('w', 12)], 'user');
    });
    const [parse, renamed, fields] = e.errors;
    assert.equal(Object.getPrototypeOf(parse), Error.prototype);
    assert.equal(parse.name, 'ParseFailure');
    assert.equal(parse.message, 'p');
    assert.ok(renamed instanceof Error);
    assert.equal(renamed.name, 'CustomName');
    assert.equal(fields.name, 'WithFields');
    assert.equal(fields.line, 12);
  });

  test('a thrown non-error value arrives as structured clone gives it', async () => {
    assert.equal(await threadError(() => Promise.reject('a string')), 'a string');
    assert.deepEqual(
      await threadError(() => {
        throw { plain: [1] };
      }),
      { plain: [1] },
    );
  });
});

describe('errors as arguments and return values, at depth', () => {
  test('errors passed to a thread arrive with class, name, message, cause and props', async () => {
    const withProps = Object.assign(new RangeError('r', { cause: new TypeError('inner') }), { code: 'E1' });
    const agg = new AggregateError([new SyntaxError('s')], 'agg');
    const dom = new DOMException('stop', 'AbortError');
    const r = await runThread(
      async (args: any) => {
        const tk: any = await import('threadkit');
        const d = (e: any) => ({
          ctor: e?.constructor?.name,
          name: e?.name,
          message: e?.message,
          isError: e instanceof Error,
        });
        return {
          plain: d(args.list[0]),
          withProps: { ...d(args.map.get('e')), code: args.map.get('e').code, cause: d(args.map.get('e').cause) },
          agg: { ...d([...args.set][0]), inner: d([...args.set][0].errors[0]) },
          dom: { ...d(args.deep.a.dom), code: args.deep.a.dom.code },
          tk: {
            ...d(args.deep.tk),
            isTimeout: args.deep.tk instanceof tk.TimeoutError,
            code: args.deep.tk.code,
          },
          user: d(args.user),
          stackHasSender: String(args.list[0].stack).includes('sentFromMain'),
        };
      },
      [
        {
          list: [
            (function sentFromMain() {
              return new Error('e');
            })(),
          ],
          map: new Map([['e', withProps]]),
          set: new Set([agg]),
          deep: { a: { dom }, tk: new TimeoutError('late') },
          user: new (class Oops extends Error {})('o'),
        },
      ],
    );
    assert.deepEqual(r.plain, describeError(new Error('e')));
    assert.deepEqual(r.withProps, {
      ...describeError(new RangeError('r')),
      code: 'E1',
      cause: describeError(new TypeError('inner')),
    });
    assert.deepEqual(r.agg, {
      ...describeError(new AggregateError([], 'agg')),
      inner: describeError(new SyntaxError('s')),
    });
    assert.deepEqual(r.dom, { ctor: 'DOMException', name: 'AbortError', message: 'stop', isError: true, code: 20 });
    assert.deepEqual(r.tk, {
      ctor: 'TimeoutError',
      name: 'TimeoutError',
      message: 'late',
      isError: true,
      isTimeout: true,
      code: 'ERR_THREADKIT_TIMEOUT',
    });
    assert.deepEqual(r.user, { ctor: 'Error', name: 'Oops', message: 'o', isError: true });
    assert.equal(r.stackHasSender, true, "the sender's stack travels with the error");
  });

  test('errors returned as values arrive as errors, not as a rejection', async () => {
    const r = await runThread(async () => {
      const tk = await import('threadkit');
      return {
        list: [new TypeError('t'), new tk.QueueFull('full')],
        map: new Map([['range', new RangeError('r', { cause: new EvalError('e') })]]),
      };
    });
    assert.ok(r.list[0] instanceof TypeError);
    assert.ok(r.list[1] instanceof QueueFull);
    assert.equal((r.list[1] as QueueFull).code, 'ERR_THREADKIT_QUEUE_FULL');
    const range = r.map.get('range') as RangeError;
    assert.ok(range instanceof RangeError);
    assert.ok(range.cause instanceof EvalError);
  });

  test('one error referenced twice arrives as one object, as structured clone gives it', async () => {
    const e = new Error('twice');
    const r = await runThread((a: unknown, b: { again: unknown }) => a === b.again, [e, { again: e }]);
    assert.equal(r, true);
  });

  test('an error that references itself arrives with the cycle intact', async () => {
    const e = new Error('cyclic') as Error & { self?: unknown };
    e.self = e;
    const r = await runThread(
      (x: any) => {
        let depth = 0;
        for (let c = x; c?.self !== undefined && c.self !== c && depth < 100_000; c = c.self) depth++;
        return { cycle: x.self === x, depth };
      },
      [e],
    );
    assert.deepEqual(r, { cycle: true, depth: 0 });
  });
});
