/**
 * SPEC "What crosses a thread boundary", rules 1–3 and 5, for values (errors have their own
 * file): primitives arrive as themselves, SharedArrayBuffers arrive shared, `transfer` and
 * `move()` move buffers, and what cannot be cloned fails at the call site naming its path.
 * Each rule is checked for arguments (main → thread) and results (thread → main), nested at
 * depth in objects, arrays, Maps (keys and values), Sets and class instances.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import { describe, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Local,
  Lock,
  RLock,
  Semaphore,
  Thread,
  ThreadError,
} from 'threadkit';
import { withDeadline } from './helpers.js';
import { runThread, sharedFlags, threadError, thrownBy, waitWhile } from './helpers-transport.js';

class Box {
  constructor(public p: unknown) {}
}

/** The places a value is nested in, for "at any depth". */
function nestedOf(p: unknown) {
  return {
    obj: { p },
    arr: [0, p],
    map: new Map<unknown, unknown>([
      ['k', p],
      [p, 'as a key'],
    ]),
    set: new Set([p]),
    box: new Box(p),
    deep: { a: { b: { c: [p] } } },
  };
}

/** Every place `nestedOf` put `p`, read back from what arrived. */
function placesIn(n: any): unknown[] {
  return [n.obj.p, n.arr[1], n.map.get('k'), [...n.map.keys()][1], [...n.set][0], n.box.p, n.deep.a.b.c[0]];
}

// ---- rule 1: primitives --------------------------------------------------------------------

/**
 * The thread side of the primitive cases: checks identity and class, then works the primitive in
 * two phases around a pause (flag[0] = 1 paused, 2 failed; main sets flag[1] to resume), so the
 * main thread can look at the shared state while the thread still holds it.
 */
async function workout(kind: string, p: any, again: any, nested: any, extra: any, flag: Int32Array) {
  const tk: any = await import('threadkit');
  const pause = () => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    if (Atomics.wait(flag, 1, 0, 20_000) === 'timed-out') throw new Error('main never resumed the thread');
  };
  try {
    const places = [nested.obj.p, nested.arr[1], nested.map.get('k'), [...nested.map.keys()][1]];
    places.push([...nested.set][0], nested.box.p, nested.deep.a.b.c[0]);
    const same = [again === p, ...places.map((x: unknown) => x === p)];
    const isKind = p instanceof tk[kind];
    const seen: unknown[] = [];
    const nonBlocking = { blocking: false };
    switch (kind) {
      case 'Lock': // main holds it
        seen.push(p.locked(), p.acquireSync(nonBlocking));
        p.release(); // any thread may release a Lock
        seen.push(p.acquireSync(nonBlocking));
        pause();
        p.release();
        break;
      case 'RLock':
        seen.push(p.acquireSync(), p.acquireSync());
        pause();
        p.release();
        p.release();
        seen.push(p.locked());
        break;
      case 'Condition': // extra is the condition's lock, sent alongside
        seen.push(p.acquireSync(), extra.locked());
        pause();
        seen.push(p.waitSync({ timeout: 20_000 }));
        p.release();
        seen.push(extra.locked());
        break;
      case 'Semaphore': // value 2
        seen.push(p.acquireSync(nonBlocking));
        pause();
        seen.push(p.acquireSync(nonBlocking), p.acquireSync(nonBlocking));
        p.release(2);
        break;
      case 'BoundedSemaphore': // value 1, held by main
        seen.push(p.acquireSync(nonBlocking));
        p.release();
        try {
          p.release();
          seen.push('no error');
        } catch (e) {
          seen.push(e instanceof RangeError);
        }
        seen.push(p.acquireSync(nonBlocking));
        pause();
        p.release();
        break;
      case 'Event':
        seen.push(p.isSet());
        p.set();
        pause();
        seen.push(p.isSet()); // main cleared it while this thread was paused
        Atomics.store(flag, 2, 1); // main may set it now
        Atomics.notify(flag, 2);
        seen.push(p.waitSync({ timeout: 20_000 }));
        break;
      case 'Barrier': // 2 parties: this thread and main
        seen.push(p.parties);
        pause();
        seen.push(p.waitSync({ timeout: 20_000 }));
        break;
    }
    return { isKind, same, seen, p, again, nested };
  } catch (e) {
    Atomics.store(flag, 0, 2);
    Atomics.notify(flag, 0);
    throw e;
  }
}

interface PrimitiveCase {
  kind: string;
  make(): { p: any; extra?: any };
  before?(p: any): void;
  /** While the thread is paused holding its state. */
  during(p: any, extra: any): void;
  /** After resuming, concurrently with the thread's second phase. */
  afterResume?(p: any, flag: Int32Array): Promise<unknown>;
  /** What the thread saw, in order. */
  seen: unknown[] | ((afterResume: unknown) => unknown[]);
  after(p: any, extra: any, afterResume: unknown): void;
}

const cases: PrimitiveCase[] = [
  {
    kind: 'Lock',
    make: () => ({ p: new Lock() }),
    before: (p: Lock) => assert.equal(p.acquireSync(), true),
    during(p: Lock) {
      assert.equal(p.locked(), true, 'the lock the thread re-acquired is locked here');
      assert.equal(p.acquireSync({ blocking: false }), false);
    },
    seen: [true, false, true],
    after: (p: Lock) => assert.equal(p.locked(), false, 'the thread released it'),
  },
  {
    kind: 'RLock',
    make: () => ({ p: new RLock() }),
    during(p: RLock) {
      assert.equal(p.locked(), true);
      assert.equal(p.acquireSync({ blocking: false }), false, 'owned by the thread');
      assert.throws(() => p.release(), ThreadError);
    },
    seen: [true, true, false],
    after(p: RLock) {
      assert.equal(p.acquireSync({ blocking: false }), true);
      p.release();
    },
  },
  {
    kind: 'Condition',
    make() {
      const lock = new Lock();
      return { p: new Condition(lock), extra: lock };
    },
    during(p: Condition, lock: Lock) {
      assert.equal(lock.locked(), true, "the thread's acquire took the condition's lock");
      assert.equal(p.acquireSync({ blocking: false }), false);
    },
    async afterResume(p: Condition) {
      // The lock is free only once the thread waits (it holds it until then), so this notify
      // cannot come before the thread's wait.
      assert.equal(await p.acquire({ timeout: 20_000 }), true);
      p.notify();
      p.release();
    },
    seen: [true, true, true, false],
    after: (_p: Condition, lock: Lock) => assert.equal(lock.locked(), false),
  },
  {
    kind: 'Semaphore',
    make: () => ({ p: new Semaphore(2) }),
    during(p: Semaphore) {
      assert.equal(p.acquireSync({ blocking: false }), true, 'one permit of two left');
      assert.equal(p.acquireSync({ blocking: false }), false, 'none left');
      p.release();
    },
    seen: [true, true, false],
    after(p: Semaphore) {
      assert.equal(p.acquireSync({ blocking: false }), true);
      assert.equal(p.acquireSync({ blocking: false }), true);
      assert.equal(p.acquireSync({ blocking: false }), false, 'exactly the two permits are back');
    },
  },
  {
    kind: 'BoundedSemaphore',
    make: () => ({ p: new BoundedSemaphore(1) }),
    before: (p: BoundedSemaphore) => assert.equal(p.acquireSync(), true),
    during: (p: BoundedSemaphore) => assert.equal(p.acquireSync({ blocking: false }), false),
    seen: [false, true, true],
    after(p: BoundedSemaphore) {
      assert.equal(p.acquireSync({ blocking: false }), true);
      p.release();
      assert.throws(() => p.release(), RangeError, 'the bound is shared too');
    },
  },
  {
    kind: 'Event',
    make: () => ({ p: new Event() }),
    during(p: Event) {
      assert.equal(p.isSet(), true, 'set by the thread');
      p.clear();
    },
    async afterResume(p: Event, flag: Int32Array) {
      await waitWhile(flag, 2, 0, 20_000); // the thread has looked at the cleared state
      p.set();
    },
    seen: [false, false, true],
    after: (p: Event) => assert.equal(p.isSet(), true),
  },
  {
    kind: 'Barrier',
    make: () => ({ p: new Barrier(2) }),
    during: (p: Barrier) => assert.equal(p.nWaiting, 0),
    afterResume: (p: Barrier) => p.wait({ timeout: 20_000 }),
    seen: (mainIndex) => [2, 1 - (mainIndex as number)],
    after: (p: Barrier) => assert.equal(p.broken, false),
  },
];

describe('rule 1: a primitive arrives as the same primitive', () => {
  for (const c of cases) {
    test(`${c.kind}: one shared state both ways, one object at any depth, the original back home`, async () => {
      const { p, extra } = c.make();
      c.before?.(p);
      const nested = nestedOf(p);
      const flag = sharedFlags();
      const t = new Thread({ target: workout, args: [c.kind, p, p, nested, extra, flag] });
      t.start();
      const result = withDeadline(t.result(), 30_000, p, () => t.terminate());
      result.catch(() => {});
      await waitWhile(flag, 0, 0, 20_000);
      if (Atomics.load(flag, 0) === 2) await result; // the thread failed: show its error
      let afterResume: Promise<unknown> | undefined;
      try {
        c.during(p, extra);
      } finally {
        Atomics.store(flag, 1, 1);
        Atomics.notify(flag, 1);
        afterResume = c.afterResume?.(p, flag);
      }
      const [r, resumed] = await Promise.all([result, afterResume]);
      assert.equal(r.isKind, true, `instanceof ${c.kind} in the thread`);
      assert.deepEqual(r.same, [true, true, true, true, true, true, true, true], 'one object in the thread');
      assert.deepEqual(r.seen, typeof c.seen === 'function' ? c.seen(resumed) : c.seen);
      assert.equal(r.p, p, 'the primitive comes back as the original object');
      assert.equal(r.again, p);
      for (const [i, x] of placesIn(r.nested).entries()) assert.equal(x, p, `returned nested place ${i}`);
      c.after(p, extra, resumed);
    });
  }

  test('primitives made in a thread come back working, at depth, and keep working in other threads', async () => {
    const r = await runThread(async () => {
      const tk = await import('threadkit');
      const lock = new tk.Lock();
      lock.acquireSync();
      const condLock = new tk.Lock();
      const cond = new tk.Condition(condLock);
      cond.acquireSync();
      const sem = new tk.Semaphore(3);
      sem.acquireSync();
      const bsem = new tk.BoundedSemaphore(2);
      bsem.acquireSync();
      bsem.acquireSync();
      const ev = new tk.Event();
      ev.set();
      const rlock = new tk.RLock();
      const barrier = new tk.Barrier(3);
      class Holder {
        constructor(public inner: unknown) {}
      }
      return {
        lock,
        deep: [new Map<unknown, unknown>([[lock, lock]]), new Set([ev]), new Holder({ cond, condLock })],
        sem,
        bsem,
        rlock,
        barrier,
      };
    });
    const { lock, sem, bsem, rlock, barrier } = r;
    const map = r.deep[0] as Map<unknown, unknown>;
    const ev = [...(r.deep[1] as Set<unknown>)][0] as Event;
    const { cond, condLock } = (r.deep[2] as { inner: { cond: Condition; condLock: Lock } }).inner;
    assert.ok(lock instanceof Lock && rlock instanceof RLock && cond instanceof Condition && condLock instanceof Lock);
    assert.ok(sem instanceof Semaphore && bsem instanceof BoundedSemaphore && bsem instanceof Semaphore);
    assert.ok(ev instanceof Event && barrier instanceof Barrier);
    assert.equal([...map.keys()][0], lock, 'a Map key and value are the one lock');
    assert.equal(map.get(lock), lock);
    assert.equal(lock.locked(), true, 'held by the thread, which returned normally');
    assert.equal(condLock.locked(), true);
    assert.equal(cond.acquireSync({ blocking: false }), false, "the condition's lock is the returned lock");
    condLock.release();
    assert.equal(cond.acquireSync({ blocking: false }), true);
    cond.release();
    assert.equal(ev.isSet(), true);
    assert.equal(sem.acquireSync({ blocking: false }), true);
    assert.equal(sem.acquireSync({ blocking: false }), true);
    assert.equal(sem.acquireSync({ blocking: false }), false, 'two of three permits were left');
    bsem.release();
    bsem.release();
    assert.throws(() => bsem.release(), RangeError, 'the bound of 2 came along');
    assert.equal(rlock.acquireSync({ blocking: false }), true);
    rlock.release();
    assert.equal(barrier.parties, 3);
    // Sent on to another thread: the same state again.
    const again = await runThread(
      (l: Lock, e: Event, b: Barrier) => [l.acquireSync({ blocking: false }), e.isSet(), b.parties],
      [lock, ev, barrier],
    );
    assert.deepEqual(again, [false, true, 3]);
    lock.release();
  });

  test('inside threads: sent to a thread that has it, or back to the thread that made it, it is one object', async () => {
    const mainLock = new Lock();
    const r = await runThread(
      async (fromMain: Lock) => {
        const tk = await import('threadkit');
        const mine = new tk.Lock();
        const child = new tk.Thread({
          target: (a: unknown, b: unknown) => ({ a, b, pair: [a, b] }),
          args: [fromMain, mine],
        });
        child.start();
        const back = (await child.result()) as { a: unknown; b: unknown; pair: unknown[] };
        return {
          receivedAgain: back.a === fromMain && back.pair[0] === fromMain,
          backToCreator: back.b === mine && back.pair[1] === mine,
          fromMain: back.a,
        };
      },
      [mainLock],
    );
    assert.equal(r.receivedAgain, true, 'a thread that already had the lock gets the same object');
    assert.equal(r.backToCreator, true, 'a lock made in a thread comes back to it as the original');
    assert.equal(r.fromMain, mainLock, 'and to main as the original after two hops');
  });
});

describe('rule 1 with rule 6: the ESM and CommonJS builds loaded side by side', () => {
  const cjs = createRequire(import.meta.url)('threadkit') as typeof import('threadkit');

  test("a primitive sent through the other build's Thread is the same primitive, and comes back as the original", async () => {
    const esmLock = new Lock();
    const cjsEvent = new cjs.Event();
    const t = new cjs.Thread({
      target: async (l: any, e: any) => {
        const tk = await import('threadkit');
        e.set();
        return { kinds: [l instanceof tk.Lock, e instanceof tk.Event], took: l.acquireSync({ blocking: false }), l, e };
      },
      args: [esmLock, cjsEvent],
    });
    t.start();
    const r = await withDeadline(t.result(), 30_000, undefined, () => t.terminate());
    assert.deepEqual(r.kinds, [true, true]);
    assert.equal(r.took, true);
    assert.equal(esmLock.locked(), true, 'one shared state');
    assert.equal(cjsEvent.isSet(), true);
    assert.ok(r.l instanceof Lock && r.l instanceof cjs.Lock);
    assert.equal(r.l, esmLock, 'an ESM-made lock back through the CommonJS Thread is the original object');
    assert.equal(r.e, cjsEvent, 'a CommonJS-made event back through the CommonJS Thread is the original object');
    esmLock.release();
  });

  test('a Local sent out through the other build comes back as the original, with its properties', async () => {
    const local = new Local() as Local & { mine?: string };
    local.mine = 'main';
    const t = new cjs.Thread({ target: (l: unknown) => l, args: [local] });
    t.start();
    const back = (await withDeadline(t.result(), 30_000, undefined, () => t.terminate())) as typeof local;
    assert.equal(back, local);
    assert.equal(back.mine, 'main');
  });

  test('inside a thread, a primitive received by one build and returned through the other is one object', async () => {
    const lock = new Lock();
    const same = await runThread(
      async (l: unknown, url: string) => {
        const { createRequire } = await import('node:module');
        const other: any = createRequire(url)('threadkit');
        const inner = new other.Thread({ target: (x: unknown) => x, args: [l] });
        inner.start();
        return (await inner.result()) === l;
      },
      [lock, import.meta.url],
    );
    assert.equal(same, true);
  });
});

// ---- rule 2: SharedArrayBuffers ----------------------------------------------------------------

describe('rule 2: SharedArrayBuffers and views over them arrive shared', () => {
  test('arguments: a SAB, typed arrays and a DataView over it, at depth; writes meet in one memory', async () => {
    const sab = new SharedArrayBuffer(64);
    const i32 = new Int32Array(sab);
    const offsetView = new Int32Array(sab, 16, 4);
    const dv = new DataView(sab, 32, 8);
    i32[0] = 1;
    const r = await runThread(
      (a: any) => {
        const views = [a.buf, a.list[1].buffer, a.map.get('v').buffer, [...a.set][0].buffer, a.box.p.buffer];
        const sameBuffer = views.every((b: unknown) => b === a.buf);
        const isShared = Object.prototype.toString.call(a.buf) === '[object SharedArrayBuffer]';
        const seenFirst = new Int32Array(a.buf)[0];
        Atomics.store(new Int32Array(a.buf), 1, 2); // through the SAB itself
        a.list[1][0] = 3; // Int32Array at offset 16: word 4
        a.map.get('v')[2] = 4; // the full Int32Array: word 2
        [...a.set][0][3] = 5;
        a.box.p.setInt32(0, 6, true); // byte 32: word 8
        return { sameBuffer, isShared, seenFirst, offset: a.list[1].byteOffset };
      },
      [{ buf: sab, list: [0, offsetView], map: new Map([['v', i32]]), set: new Set([i32]), box: new Box(dv) }],
    );
    assert.deepEqual(r, { sameBuffer: true, isShared: true, seenFirst: 1, offset: 16 });
    assert.deepEqual([...i32.subarray(0, 5)], [1, 2, 4, 5, 3]);
    assert.equal(i32[8], 6);
  });

  test('results: a view returned over a received SAB, and a SAB made in the thread, stay shared', async () => {
    const sab = new SharedArrayBuffer(16);
    const r = await runThread(
      (s: SharedArrayBuffer) => {
        const own = new Int32Array(new SharedArrayBuffer(8));
        // Written after the result has been posted (a timer runs after the bootstrap's post):
        // main can see it only if the returned buffer is shared, not a copy.
        setTimeout(() => {
          Atomics.store(own, 0, 99);
          Atomics.notify(own, 0);
        }, 0);
        return { view: new Int32Array(s, 8, 2), nested: new Map([['own', own]]) };
      },
      [sab],
    );
    assert.ok(r.view.buffer instanceof SharedArrayBuffer);
    r.view[1] = 7;
    assert.equal(new Int32Array(sab)[3], 7, 'a write through the returned view lands in the original');
    const own = r.nested.get('own') as Int32Array;
    assert.ok(own.buffer instanceof SharedArrayBuffer);
    await waitWhile(own, 0, 0, 10_000);
    assert.equal(own[0], 99, "the thread's write after returning is seen");
  });

  test('a SAB inside a primitive-carrying value is still shared (markers do not copy their neighbours)', async () => {
    const lock = new Lock();
    const flags = sharedFlags();
    await runThread(
      (v: any) => {
        v.flags[0] = v.lock.acquireSync({ blocking: false }) ? 11 : -1;
      },
      [{ lock, flags }],
    );
    assert.equal(flags[0], 11);
    assert.equal(lock.locked(), true);
    lock.release();
  });
});

// ---- rule 3: transfer and move ------------------------------------------------------------------

describe('rule 3: transfer moves buffers; move() moves a result back', () => {
  test('transfer: listed ArrayBuffers (also under a view, at depth) detach on the sender and arrive intact', async () => {
    const moved = new Uint8Array([1, 2, 3, 4]);
    const alone = new ArrayBuffer(8);
    new Float64Array(alone)[0] = 1.5;
    const copied = new Uint8Array([9, 9]);
    const lock = new Lock(); // a primitive beside them makes the codec copy their containers
    const t = new Thread({
      target: (a: any) => [
        [...a.deep.view],
        new Float64Array(a.map.get('buf'))[0],
        [...a.copied],
        a.deep.lock.locked(),
      ],
      args: [{ deep: { view: moved, lock }, map: new Map<string, unknown>([['buf', alone]]), copied }],
      transfer: [moved.buffer, alone],
    });
    lock.acquireSync();
    t.start();
    assert.equal(moved.buffer.byteLength, 0, 'moved: detached here');
    assert.equal(alone.byteLength, 0);
    assert.equal(copied.byteLength, 2, 'not listed: copied, still here');
    assert.deepEqual(await withDeadline(t.result(), 30_000), [[1, 2, 3, 4], 1.5, [9, 9], true]);
    lock.release();
  });

  test('move(value): the ArrayBuffers found in the result move back (detached in the thread)', async () => {
    const flags = sharedFlags();
    const r = await runThread(
      async (f: Int32Array) => {
        const { move } = await import('threadkit');
        const raw = new ArrayBuffer(16);
        new Uint8Array(raw).fill(7);
        const view = new Float64Array([2.5, 3.5]);
        const shared = new Int32Array(new SharedArrayBuffer(4)); // not transferable: left alone
        // Runs after the result was posted: records what the thread still has.
        setTimeout(() => {
          f[1] = raw.byteLength;
          f[2] = view.buffer.byteLength;
          f[3] = shared.byteLength;
          Atomics.store(f, 0, 1);
          Atomics.notify(f, 0);
        }, 0);
        return move({ raw, nested: [new Map([['view', view]])], shared });
      },
      [flags],
    );
    assert.deepEqual([...new Uint8Array(r.raw)], Array(16).fill(7));
    assert.deepEqual([...(r.nested[0] as Map<string, Float64Array>).get('view')!], [2.5, 3.5]);
    assert.ok(r.shared.buffer instanceof SharedArrayBuffer);
    await waitWhile(flags, 0, 0);
    assert.deepEqual([...flags.subarray(1)], [0, 0, 4], 'raw and view detached in the thread, the SAB not');
  });

  test('move(value, transfer): only the listed buffers move, the others are copied', async () => {
    const flags = sharedFlags();
    const r = await runThread(
      async (f: Int32Array) => {
        const { move } = await import('threadkit');
        const a = new Uint8Array([1, 2, 3]).buffer;
        const b = new Uint8Array([4, 5]).buffer;
        setTimeout(() => {
          f[1] = a.byteLength;
          f[2] = b.byteLength;
          Atomics.store(f, 0, 1);
          Atomics.notify(f, 0);
        }, 0);
        return move({ a, b }, [a]);
      },
      [flags],
    );
    assert.deepEqual(
      [[...new Uint8Array(r.a)], [...new Uint8Array(r.b)]],
      [
        [1, 2, 3],
        [4, 5],
      ],
    );
    await waitWhile(flags, 0, 0);
    assert.deepEqual([flags[1], flags[2]], [0, 2]);
  });

  test('a MessagePort listed in transfer arrives as a working MessagePort', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const got = new Promise((resolve) => port1.once('message', resolve));
      const r = await runThread(
        (holder: { port: any }) => {
          const ok = typeof holder.port?.postMessage === 'function';
          if (ok) holder.port.postMessage('hello from the thread');
          holder.port?.close?.();
          return ok;
        },
        [{ port: port2 }],
        { transfer: [port2] },
      );
      assert.equal(r, true, 'the thread received a MessagePort');
      assert.equal(await withDeadline(got, 10_000), 'hello from the thread');
    } finally {
      port1.close();
      port2.close();
    }
  });
});

// ---- rule 5: what cannot cross, class instances, Local ------------------------------------------

describe('rule 5: what cannot be cloned fails at the call site, naming where it is', () => {
  const noop = () => 1;
  const cases: [string, unknown[], RegExp][] = [
    ['a function', [1, { handler: () => 0 }], /args\[1\]\.handler\b.*function/],
    ['a symbol', [1, { handler: Symbol('s') }], /args\[1\]\.handler\b.*symbol/],
    ['a Thread object', [1, { handler: new Thread({ target: noop }) }], /args\[1\]\.handler\b.*Thread/],
    ['a WeakMap', [1, { handler: new WeakMap() }], /args\[1\]\.handler\b.*WeakMap/],
    ['a WeakSet', [1, { handler: new WeakSet() }], /args\[1\]\.handler\b.*WeakSet/],
    ['a Promise', [1, { handler: Promise.resolve(1) }], /args\[1\]\.handler\b.*Promise/],
    ['a deep path', [{ a: { b: [0, 1, { c: noop }] } }], /args\[0\]\.a\.b\[2\]\.c\b/],
    ['an array index', [[0, 1, Symbol('x')]], /args\[0\]\[2\]/],
    ['a Map value', [new Map([['k', { f: noop }]])], /args\[0\]\.get\("k"\)\.f\b/],
    ['a Set item', [new Set([1, noop])], /args\[0\]<item 1>/],
    [
      'a Map key',
      [
        new Map<unknown, number>([
          [1, 1],
          [noop, 2],
        ]),
      ],
      /args\[0\]<key 1>/,
    ],
    ['a Map value under a key that is not a string', [new Map([[5, { f: noop }]])], /args\[0\]\.get\(<key 0>\)\.f\b/],
    [
      'a path through every kind of container',
      [{ m: new Map([['k', [new Set([{ deep: noop }])]]]) }],
      /args\[0\]\.m\.get\("k"\)\[0\]<item 0>\.deep\b/,
    ],
    ['a key that is not an identifier', [{ 'a-b': noop }], /args\[0\]\["a-b"\]/],
    ['inside a class instance', [new Box({ f: noop })], /args\[0\]\.p\.f\b/],
  ];
  for (const [what, args, message] of cases) {
    test(`new Thread({ args }) with ${what} throws TypeError naming the path`, () => {
      const e = thrownBy(() => new Thread({ target: noop, args }));
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, message);
    });
  }

  test('a socket fails at the call site with a TypeError naming the argument', () => {
    const socket = new net.Socket();
    try {
      const e = thrownBy(() => new Thread({ target: noop, args: [socket] }));
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, /^args\[0\]/);
    } finally {
      socket.destroy();
    }
  });

  test('what structured clone refuses after the codec (a Proxy) fails with a TypeError naming args[0].p', async () => {
    let error: unknown;
    let t: Thread | undefined;
    try {
      t = new Thread({ target: noop, args: [{ p: new Proxy({}, {}) }] });
      t.start();
    } catch (e) {
      error = e;
    }
    if (error === undefined) {
      await t?.join();
      assert.fail('the thread started');
    }
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /^args\[0\]\.p\b/);
  });

  test('a MessagePort that is not listed in transfer fails at the call site (DataCloneError case)', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      let error: unknown;
      let t: Thread | undefined;
      try {
        t = new Thread({ target: (x: unknown) => Object.prototype.toString.call(x), args: [{ port: port2 }] });
        t.start();
      } catch (e) {
        error = e;
      }
      if (error === undefined) {
        const arrived = await withDeadline(t!.result(), 30_000);
        assert.fail(`the port arrived as ${String(arrived)}`);
      }
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /args\[0\]\.port/);
    } finally {
      port1.close();
      port2.close();
    }
  });

  const results: [string, () => unknown, RegExp][] = [
    ['a function', () => () => 1, /^result\b.*function/],
    ['a nested function', () => ({ a: { f: () => 1 } }), /^result\.a\.f\b/],
    ['a symbol', () => Symbol('x'), /^result\b.*symbol/],
    ['a WeakMap', () => new WeakMap(), /^result\b.*WeakMap/],
    ['a Promise in an array', () => [1, new Promise(() => {})], /^result\[1\].*Promise/],
    ['a Proxy', () => ({ p: new Proxy({}, {}) }), /^result\.p\b/],
  ];
  for (const [what, fn, message] of results) {
    test(`a result holding ${what} rejects with a TypeError naming it`, async () => {
      const e = await threadError(fn);
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, message);
    });
  }
});

describe('rule 5: class instances and Local', () => {
  test('class instances arrive as plain objects with their own data, both ways', async () => {
    class Point {
      #secret = 'private';
      hidden!: number;
      constructor(
        public x: number,
        public y: number,
        public lock: Lock,
      ) {
        Object.defineProperty(this, 'hidden', { value: 1, enumerable: false });
      }
      get norm() {
        return Math.hypot(this.x, this.y);
      }
      secret() {
        return this.#secret;
      }
    }
    const lock = new Lock();
    const r = await runThread(
      (p: any) => {
        class Pair {
          constructor(
            public a: unknown,
            public b: unknown,
          ) {}
          sum() {
            return 0;
          }
        }
        return {
          arrived: {
            proto: Object.getPrototypeOf(p) === Object.prototype,
            keys: Object.keys(p).sort(),
            norm: p.norm,
            hasMethod: typeof p.secret,
          },
          back: new Pair(p.x, p.lock),
        };
      },
      [new Point(3, 4, lock)],
    );
    assert.deepEqual(r.arrived, { proto: true, keys: ['lock', 'x', 'y'], norm: undefined, hasMethod: 'undefined' });
    assert.equal(Object.getPrototypeOf(r.back), Object.prototype);
    assert.deepEqual(Object.keys(r.back), ['a', 'b']);
    assert.equal(r.back.a, 3);
    assert.equal(r.back.b, lock, 'a primitive inside a class instance is still the primitive');
    assert.equal('sum' in r.back, false);
  });

  test('a Local arrives empty, as a Local, and comes back as the original with its own properties', async () => {
    const local = new Local() as Local & { x?: number };
    local.x = 1;
    const r = await runThread(
      async (l: any, again: any) => {
        const tk = await import('threadkit');
        const seen = { keys: Object.keys(l), x: l.x, isLocal: l instanceof tk.Local, same: l === again.deep[0] };
        l.y = 2; // this thread's own
        return { seen, l };
      },
      [local, { deep: [local] }],
    );
    assert.deepEqual(r.seen, { keys: [], x: undefined, isLocal: true, same: true });
    assert.equal(r.l, local, 'back home it is the same object');
    assert.equal(local.x, 1);
    assert.equal((local as Record<string, unknown>).y, undefined, "the thread's property stays in the thread");
  });
});

describe('structured clone semantics are kept around the additions', () => {
  test('cycles and shared references survive, with and without a primitive in them', async () => {
    const lock = new Lock();
    const cyclic: any = { name: 'c', lock };
    cyclic.self = cyclic;
    const shared = { n: 1 };
    const r = await runThread(
      (c: any, s: any) => ({
        cycle: c.self === c,
        lockKept: c.lock === c.self.lock,
        sharedRef: s.a === s.b,
        c,
      }),
      [cyclic, { a: shared, b: shared }],
    );
    assert.deepEqual([r.cycle, r.lockKept, r.sharedRef], [true, true, true]);
    assert.equal(r.c.self, r.c);
    assert.equal(r.c.lock, lock);
  });

  test("a user object that owns the codec's own marker key arrives as it was", async () => {
    const TAG = '\u0000threadkit';
    const lookalikes = [
      { [TAG]: 'p', d: { kind: 'Lock' } },
      { [TAG]: 'e', r: { c: 'TypeError', n: 'TypeError', m: 'fake', p: {} } },
      { [TAG]: 'o', v: 1, lock: new Lock() },
    ];
    const r = await runThread((v: unknown[]) => v.map((o) => ({ ...(o as object) })), [lookalikes]);
    assert.deepEqual(r[0], lookalikes[0]);
    assert.deepEqual(r[1], lookalikes[1]);
    assert.equal((r[2] as Record<string, unknown>)[TAG], 'o');
    assert.equal((r[2] as Record<string, unknown>).lock, lookalikes[2]!.lock);
  });

  test('Dates, RegExps, BigInts, boxed values, nested Maps and Sets, holes and undefined arrive intact', async () => {
    const value = {
      date: new Date(1234567890),
      re: /a+b/gi,
      big: 2n ** 70n,
      boxed: [Object(1), Object('s')],
      m: new Map([[new Set([1, 2]), new Map([['x', undefined]])]]),
      sparse: Object.assign([1], { 2: 3 }), // a hole at 1
      neg0: -0,
      nan: Number.NaN,
    };
    const r = await runThread((v: unknown) => v, [value]);
    assert.deepEqual(r, value);
    assert.ok(Object.is(r.neg0, -0));
    assert.equal(1 in r.sparse, false, 'the hole is kept');
  });
});
