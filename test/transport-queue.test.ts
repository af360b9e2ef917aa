/**
 * Queue items cross threads as thread arguments do (SPEC "What crosses a thread boundary", and
 * "Queues": items of any size): values of every kind come out exactly as they went in, on one
 * thread and through other threads, in every queue kind; items far larger than the queue's
 * internal chunks pass; threadkit primitives and SharedArrayBuffers inside items arrive shared at
 * any depth; `transfer` moves buffers (and only once the item is in); what cannot be cloned fails
 * at the put, naming its path, with the queue unchanged.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueFull,
  QueueShutDown,
  Semaphore,
  SimpleQueue,
  Thread,
} from 'threadkit';
import { withDeadline } from './helpers.js';
import { exitGuard } from './helpers-conformance.js';
import { drain, fieldOf, inPoolThread } from './helpers-queue.js';

exitGuard();

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

class MyError extends Error {}

/** A string of `n` UTF-16 units with every kind of unit in it (astral pairs and lone surrogates too). */
function longString(n: number): string {
  const parts = ['ascii ', 'é', '€', '😀', '\uD800', 'x', '\uDFFF', '\0', '\uFFFF'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += parts[i % parts.length];
  return s.slice(0, n);
}

/** The catalogue: every kind of item, by name. Built afresh for each use (puts may detach buffers). */
function catalogue(): [string, unknown][] {
  const cyclic: Record<string, unknown> = { name: 'cyclic' };
  cyclic.self = cyclic;
  const shared = { shared: true };
  const whole = new ArrayBuffer(32);
  const bytes = new Uint8Array(whole);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i;
  // biome-ignore lint/suspicious/noSparseArray: the holes are the point
  const holes = [1, , 3];
  const withProps = Object.assign([1, 2], { extra: 'kept' });
  return [
    ['zero', 0],
    ['negative zero', -0],
    ['fraction', -1.5e-300],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['max safe integer', Number.MAX_SAFE_INTEGER],
    ['denormal', 5e-324],
    ['bigint 0', 0n],
    ['bigint huge', 2n ** 200n + 1n],
    ['bigint negative', -(2n ** 64n)],
    ['empty string', ''],
    ['short string', 'a'],
    ['12 units', 'abcdefghijkl'],
    ['13 units', 'abcdefghijklm'],
    ['lone high surrogate', '\uD800'],
    ['lone low surrogate in text', 'a\uDC00b'],
    ['astral', '😀'],
    ['astral pair split over the inline limit', `${'x'.repeat(11)}😀`],
    ['nul', '\0'],
    ['long string', longString(100_000)],
    ['true', true],
    ['false', false],
    ['null', null],
    ['undefined', undefined],
    ['date', new Date(Date.UTC(2024, 1, 29, 12, 30))],
    ['invalid date', new Date(Number.NaN)],
    ['regexp', /a+(?<b>b)?/gimsu],
    ['sticky regexp', /\d+/y],
    [
      'map',
      new Map<unknown, unknown>([
        [1, 'one'],
        ['two', [2]],
        [{ k: 1 }, new Map([['in', new Set([1])]])],
      ]),
    ],
    ['set', new Set<unknown>([1, 'a', null, undefined, { o: 1 }, -0])],
    ['nested object', { a: { b: [1, { c: { d: [[], {}, [null]] } }] }, 'key with spaces': 1, '': 'empty key' }],
    ['array with holes', holes],
    ['array with a property', withProps],
    ['cycle', cyclic],
    ['one object twice', { a: shared, b: shared }],
    ['empty object', {}],
    ['boxed', [new String('s'), new Number(-0), new Boolean(false), Object(5n)]],
    ['Uint8Array', new Uint8Array([0, 1, 255])],
    ['Int8Array', new Int8Array([-128, 127])],
    ['Uint8ClampedArray', new Uint8ClampedArray([0, 255])],
    ['Int16Array', new Int16Array([-32768, 32767])],
    ['Uint16Array', new Uint16Array([65535])],
    ['Int32Array', new Int32Array([-(2 ** 31), 2 ** 31 - 1])],
    ['Uint32Array', new Uint32Array([2 ** 32 - 1])],
    ['Float32Array', new Float32Array([Number.NaN, -0, 1.5])],
    ['Float64Array', new Float64Array([Number.NaN, -0, Number.MIN_VALUE])],
    ['BigInt64Array', new BigInt64Array([-(2n ** 63n)])],
    ['BigUint64Array', new BigUint64Array([2n ** 64n - 1n])],
    ['empty Uint8Array', new Uint8Array(0)],
    ['DataView', new DataView(new Uint8Array([1, 2, 3, 4]).buffer)],
    ['ArrayBuffer', new Uint8Array([9, 8, 7]).buffer],
    ['empty ArrayBuffer', new ArrayBuffer(0)],
    ['views in an object', { u8: new Uint8Array([1]), f64: new Float64Array([2]), ab: new ArrayBuffer(3) }],
    ['view of part of a buffer', new Int16Array(whole, 4, 3)],
    ['two views of one buffer', { a: new Uint8Array(whole, 0, 4), b: new DataView(whole, 8, 8) }],
    ['Error', new Error('plain')],
    ['TypeError with a cause', new TypeError('outer', { cause: new RangeError('inner', { cause: { data: [1] } }) })],
    ['Error with own properties', Object.assign(new RangeError('r'), { code: 'E_CODE', detail: { n: 1 } })],
    ['AggregateError', new AggregateError([new EvalError('e'), new SyntaxError('s')], 'many')],
    ['DOMException', new DOMException('gone', 'AbortError')],
    ['user error class', new MyError('mine')],
    ['class instance', new Point(3, 4)],
  ];
}

/** Checks that `got` is exactly `want` as structured clone carries it (plus rule 4 for errors). */
function assertSame(got: unknown, want: unknown, name: string): void {
  if (want instanceof Error) {
    assertSameError(got, want, name);
    return;
  }
  if (want instanceof Point) {
    assert.deepEqual(
      Object.getPrototypeOf(got),
      Object.prototype,
      `${name}: a class instance arrives as a plain object`,
    );
    assert.deepEqual({ ...(got as object) }, { ...want }, name);
    return;
  }
  if (ArrayBuffer.isView(want) && !(want instanceof DataView)) {
    // Structured clone keeps a view's offset and copies its whole buffer.
    const g = got as ArrayBufferView;
    assert.equal(g.constructor, want.constructor, name);
    assert.deepEqual(
      [g.byteOffset, g.byteLength, g.buffer.byteLength],
      [want.byteOffset, want.byteLength, want.buffer.byteLength],
      name,
    );
    assert.deepEqual(new Uint8Array(g.buffer), new Uint8Array(want.buffer), name);
  }
  if (name === 'two views of one buffer') {
    const g = got as { a: Uint8Array; b: DataView };
    assert.equal(g.a.buffer, g.b.buffer, 'two views of one buffer still share it');
    assert.deepEqual([g.b.byteOffset, g.b.byteLength, g.a.buffer.byteLength], [8, 8, 32]);
  }
  if (name === 'cycle') {
    const g = got as { self: unknown };
    assert.equal(g.self, g, 'the cycle is kept');
  }
  if (name === 'one object twice') {
    const g = got as { a: unknown; b: unknown };
    assert.equal(g.a, g.b, 'one object twice is still one object');
  }
  if (want instanceof Date) {
    // deepStrictEqual calls two invalid dates different (NaN !== NaN); the reporter cannot print them.
    assert.ok(got instanceof Date, `${name}: not a Date`);
    assert.ok(Object.is(got.getTime(), want.getTime()), `${name}: ${got.getTime()} instead of ${want.getTime()}`);
    return;
  }
  if (want instanceof RegExp) assert.equal((got as RegExp).lastIndex, 0);
  assert.deepStrictEqual(got, want, name);
}

function assertSameError(got: unknown, want: Error, name: string): void {
  assert.ok(got instanceof Error, `${name}: not an Error`);
  if (want instanceof MyError) {
    // Rule 4: an instance of a user-defined class arrives as an Error named after it.
    assert.equal(Object.getPrototypeOf(got), Error.prototype, name);
    assert.equal(got.name, 'MyError', name);
  } else {
    assert.equal(Object.getPrototypeOf(got), Object.getPrototypeOf(want), `${name}: its class`);
    assert.equal(got.name, want.name, name);
  }
  assert.equal(got.message, want.message, name);
  if (want instanceof DOMException) assert.equal((got as DOMException).code, want.code, name);
  for (const key of Object.keys(want)) {
    assert.deepStrictEqual(
      (got as unknown as Record<string, unknown>)[key],
      (want as unknown as Record<string, unknown>)[key],
      `${name}.${key}`,
    );
  }
  if (want instanceof AggregateError) {
    const errors = (got as AggregateError).errors;
    assert.equal(errors.length, want.errors.length);
    for (const [i, e] of want.errors.entries()) assertSameError(errors[i], e, `${name}.errors[${i}]`);
  }
  if ('cause' in want) {
    if (want.cause instanceof Error) assertSameError(got.cause, want.cause, `${name}.cause`);
    else assert.deepStrictEqual(got.cause, want.cause, `${name}.cause`);
  } else assert.equal('cause' in got, false, `${name}: a cause appeared`);
}

type AnyQueue = Queue<unknown> | SimpleQueue<unknown>;
const KINDS = ['Queue', 'LifoQueue', 'PriorityQueue', 'SimpleQueue'] as const;
type KindName = (typeof KINDS)[number];

function make(kind: KindName): AnyQueue {
  return kind === 'Queue'
    ? new Queue()
    : kind === 'LifoQueue'
      ? new LifoQueue()
      : kind === 'PriorityQueue'
        ? new PriorityQueue()
        : new SimpleQueue();
}

/** Puts every value: in a PriorityQueue as `[index, value]`, so that the index orders them. */
function putAll(q: AnyQueue, kind: KindName, values: unknown[]): void {
  for (const [i, v] of values.entries()) q.putNowait(kind === 'PriorityQueue' ? [i, v] : v);
}

/** Gets them back in put order (`lifoTwice`: through two LifoQueues, which gives put order). */
function getAll(q: AnyQueue, kind: KindName, n: number, lifoTwice = false): unknown[] {
  const out = Array.from({ length: n }, () => q.getNowait());
  if (kind === 'LifoQueue' && !lifoTwice) out.reverse();
  return kind === 'PriorityQueue' ? out.map((x) => (x as [number, unknown])[1]) : out;
}

describe('items of every kind come out exactly as they went in', () => {
  for (const kind of KINDS) {
    test(`${kind}: on one thread`, () => {
      const items = catalogue();
      const q = make(kind);
      putAll(
        q,
        kind,
        items.map(([, v]) => v),
      );
      const got = getAll(q, kind, items.length);
      for (const [i, [name, want]] of items.entries()) assertSame(got[i], want, `${kind} ${name}`);
      assert.equal(q.qsize(), 0);
    });
  }

  test('every kind: through a thread that gets each item (sync) and puts it back (sync) into a second queue', async () => {
    for (const kind of KINDS) {
      const items = catalogue();
      const there = make(kind);
      const back = make(kind);
      putAll(
        there,
        kind,
        items.map(([, v]) => v),
      );
      const echoed = await inPoolThread(
        async (there: AnyQueue, back: AnyQueue, n: number) => {
          for (let i = 0; i < n; i++) back.putNowait(there.getSync({ timeout: 10_000 }));
          return n;
        },
        there,
        back,
        items.length,
      );
      assert.equal(echoed, items.length);
      const got = getAll(back, kind, items.length, true);
      for (const [i, [name, want]] of items.entries()) assertSame(got[i], want, `${kind} through a thread: ${name}`);
    }
  });

  test('the thread sees the values themselves, not only their round trip', async () => {
    const items = catalogue();
    const q = new Queue<unknown>();
    for (const [, v] of items) q.putNowait(v);
    const seen = await inPoolThread(
      async (q: Queue<unknown>, names: string[]) => {
        const at = new Map(names.map((name) => [name, q.getNowait()]));
        const cause = (at.get('TypeError with a cause') as Error).cause as Error;
        return {
          negativeZero: Object.is(at.get('negative zero'), -0),
          nan: Number.isNaN(at.get('NaN')),
          bigint: at.get('bigint huge') === 2n ** 200n + 1n,
          lone: at.get('lone high surrogate') === '\uD800',
          long: (at.get('long string') as string).length,
          undef: at.has('undefined') && at.get('undefined') === undefined,
          date: (at.get('date') as Date).toISOString(),
          map: (at.get('map') as Map<unknown, unknown>).get('two'),
          cause: [cause.message, cause instanceof RangeError],
          view: [
            (at.get('view of part of a buffer') as Int16Array).byteOffset,
            (at.get('view of part of a buffer') as Int16Array).buffer.byteLength,
          ],
          left: q.qsize(),
        };
      },
      q,
      items.map(([name]) => name),
    );
    assert.deepEqual(seen, {
      negativeZero: true,
      nan: true,
      bigint: true,
      lone: true,
      long: 100_000,
      undef: true,
      date: '2024-02-29T12:30:00.000Z',
      map: [2],
      cause: ['inner', true],
      view: [4, 32],
      left: 0,
    });
  });
});

// ---- size ----------------------------------------------------------------------------------

/** A checksum of bytes, the same in every thread. */
const checksum = (b: Uint8Array): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i += 97) h = Math.imul(h ^ (b[i] as number) ^ i, 0x01000193);
  return h >>> 0;
};

describe('items larger than any internal buffer', () => {
  test('10 MiB items (bytes, a string, an object holding a buffer) and a mix of sizes pass both ways, in order', async () => {
    const MiB = 1 << 20;
    const bytes = (n: number, seed: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i += 4096) b[i] = (i / 4096 + seed) & 0xff;
      b[n - 1] = seed;
      return b;
    };
    const big = bytes(10 * MiB, 7);
    const text = longString(5 * MiB); // 10 MiB of UTF-16
    const holder = { meta: { name: 'holder' }, blob: bytes(10 * MiB, 9).buffer };
    const sizes = [1024, 33 * 1024, 64 * 1024, MiB, 5 * MiB, 10 * MiB];
    const mix = sizes.map((n, k) => bytes(n, k));
    const q = new Queue<unknown>({ maxsize: 3 });
    const back = new Queue<unknown>({ maxsize: 3 });
    const echo = inPoolThread(
      async (q: Queue<unknown>, back: Queue<unknown>, n: number) => {
        for (let i = 0; i < n; i++) back.putSync(q.getSync({ timeout: 20_000 }), { timeout: 20_000 });
      },
      q,
      back,
      3 + mix.length,
    );
    const sending = (async () => {
      for (const x of [big, text, holder, ...mix]) await q.put(x, { timeout: 20_000 });
    })();
    const got: unknown[] = [];
    for (let i = 0; i < 3 + mix.length; i++) got.push(await back.get({ timeout: 20_000 }));
    await withDeadline(Promise.all([sending, echo]), 20_000, [q, back]);
    const [gBig, gText, gHolder, ...gMix] = got as [Uint8Array, string, typeof holder, ...Uint8Array[]];
    assert.equal(gBig.length, big.length);
    assert.equal(checksum(gBig), checksum(big));
    assert.equal(gBig[gBig.length - 1], 7);
    assert.equal(gText.length, text.length);
    assert.ok(gText === text, 'the 10 MiB string changed');
    assert.deepEqual(gHolder.meta, holder.meta);
    assert.equal(checksum(new Uint8Array(gHolder.blob)), checksum(new Uint8Array(holder.blob)));
    assert.deepEqual(
      gMix.map((b) => [b.length, checksum(b)]),
      mix.map((b) => [b.length, checksum(b)]),
    );
    assert.deepEqual([q.qsize(), back.qsize()], [0, 0]);
  });

  test('a PriorityQueue and a LifoQueue order big items like small ones', async () => {
    const MiB = 1 << 20;
    const p = new PriorityQueue<[number, Uint8Array]>();
    const l = new LifoQueue<Uint8Array>();
    for (const k of [3, 1, 2]) {
      p.putNowait([k, new Uint8Array(k * MiB).fill(k)]);
      l.putNowait(new Uint8Array(k * MiB).fill(k));
    }
    const seen = await inPoolThread(
      async (p: PriorityQueue<[number, Uint8Array]>, l: LifoQueue<Uint8Array>) => [
        [0, 1, 2].map(() => {
          const [k, b] = p.getNowait();
          return [k, b.length, b[b.length - 1]];
        }),
        [0, 1, 2].map(() => l.getNowait()[0]),
      ],
      p,
      l,
    );
    assert.deepEqual(seen, [
      [
        [1, MiB, 1],
        [2, 2 * MiB, 2],
        [3, 3 * MiB, 3],
      ],
      [2, 1, 3],
    ]);
  });
});

// ---- shared things inside items ------------------------------------------------------------

describe('threadkit primitives and SharedArrayBuffers inside items arrive shared, at any depth', () => {
  test('a Lock put in a queue and acquired in another thread is the same lock, wherever it sits in the item', async () => {
    const lock = new Lock();
    const event = new Event();
    const sem = new Semaphore(2);
    const inner = new SimpleQueue<string>();
    const sab = new SharedArrayBuffer(16);
    const item = {
      deep: { a: { b: [lock] } },
      map: new Map<unknown, unknown>([[lock, { lock }]]),
      set: new Set([lock]),
      others: [event, sem, inner],
      sab,
      view: new Int32Array(sab, 4, 2),
    };
    for (const q of [
      new Queue<typeof item>(),
      new PriorityQueue<[number, typeof item]>(),
      new SimpleQueue<typeof item>(),
    ]) {
      event.clear();
      q.putNowait((q instanceof PriorityQueue ? [1, item] : item) as never);
      const seen = await inPoolThread(async (q: AnyQueue) => {
        const { Lock } = await import('threadkit');
        const got = q.getSync({ timeout: 10_000 });
        const it = (Array.isArray(got) ? got[1] : got) as typeof item;
        const lock = it.deep.a.b[0] as Lock;
        const places = [[...it.map.keys()][0], (it.map.get(lock) as { lock: unknown })?.lock, [...it.set][0]];
        const [event, sem, inner] = it.others as [Event, Semaphore, SimpleQueue<string>];
        const acquired = lock.acquireSync({ blocking: false });
        it.view[0] = 42; // word 1 of the buffer
        new Int32Array(it.sab)[3] = 7;
        event.set();
        sem.acquireSync({ blocking: false });
        inner.put('from the thread');
        return {
          isLock: lock instanceof Lock,
          same: places.map((p) => p === lock),
          acquired,
          offset: it.view.byteOffset,
        };
      }, q as AnyQueue);
      assert.deepEqual(seen, { isLock: true, same: [true, true, true], acquired: true, offset: 4 });
      assert.equal(lock.locked(), true, 'the thread acquired this very lock');
      lock.release();
      assert.deepEqual([...new Int32Array(sab)], [0, 42, 0, 7]);
      assert.equal(event.isSet(), true);
      assert.equal(inner.getNowait(), 'from the thread');
      new Int32Array(sab).fill(0);
    }
    assert.equal(sem.acquireSync({ blocking: false }), false, 'the three threads took a permit each (of 2)');
  });

  test('a SharedArrayBuffer in an item is shared both ways while the thread runs', async () => {
    const sab = new SharedArrayBuffer(8);
    const words = new Int32Array(sab);
    const q = new Queue<{ nested: { words: Int32Array } }>();
    q.putNowait({ nested: { words } });
    const thread = inPoolThread(async (q: Queue<{ nested: { words: Int32Array } }>) => {
      const w = q.getSync({ timeout: 10_000 }).nested.words;
      Atomics.store(w, 0, 1);
      Atomics.notify(w, 0);
      // Wait for the main thread's answer in the same buffer.
      if (Atomics.wait(w, 1, 0, 10_000) === 'timed-out') throw new Error('no answer in the shared buffer');
      return Atomics.load(w, 1);
    }, q);
    const r = Atomics.waitAsync(words, 0, 0, 10_000);
    if (r.async) await r.value;
    assert.equal(Atomics.load(words, 0), 1);
    Atomics.store(words, 1, 99);
    Atomics.notify(words, 1);
    assert.equal(await thread, 99);
  });
});

// ---- transfer ------------------------------------------------------------------------------

describe('transfer', () => {
  test("moves the item's buffers: the sender's are detached, the receiver has the bytes (every kind and form)", async () => {
    const fresh = (n: number) => new Uint8Array([n, n + 1, n + 2]);
    const q = new Queue<unknown>();
    const a = fresh(1);
    await q.put(a.buffer, { transfer: [a.buffer] });
    const b = fresh(2);
    q.putSync({ deep: { b } }, { transfer: [b.buffer] });
    const p = new PriorityQueue<unknown>();
    const c = fresh(3);
    await p.put([0, c], { transfer: [c.buffer] });
    const s = new SimpleQueue<unknown>();
    const d = fresh(4);
    s.put([d], { transfer: [d.buffer] });
    assert.deepEqual([a.byteLength, b.byteLength, c.byteLength, d.byteLength], [0, 0, 0, 0], 'not detached');
    const got = await inPoolThread(
      async (q: Queue<unknown>, p: Queue<unknown>, s: SimpleQueue<unknown>) => [
        [...new Uint8Array(q.getNowait() as ArrayBuffer)],
        [...(q.getNowait() as { deep: { b: Uint8Array } }).deep.b],
        [...(p.getNowait() as [number, Uint8Array])[1]],
        [...(s.getNowait() as Uint8Array[])[0]!],
      ],
      q,
      p,
      s,
    );
    assert.deepEqual(got, [
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 5],
      [4, 5, 6],
    ]);
  });

  test('a put that fails (full, shut down, uncloneable, timed out) detaches nothing', async () => {
    const full = new Queue<unknown>({ maxsize: 1 });
    full.putNowait(0);
    const buffers = Array.from({ length: 5 }, () => new ArrayBuffer(8));
    await assert.rejects(full.put(buffers[0], { block: false, transfer: [buffers[0]!] }), QueueFull);
    assert.throws(() => full.putSync(buffers[1], { timeout: 5, transfer: [buffers[1]!] }), QueueFull);
    assert.throws(() => full.putSync({ f: () => 1, b: buffers[2] }, { transfer: [buffers[2]!] }), TypeError);
    const shut = new Queue<unknown>();
    shut.shutdown();
    await assert.rejects(shut.put(buffers[3], { transfer: [buffers[3]!] }), QueueShutDown);
    assert.throws(() => shut.putSync(buffers[4], { transfer: [buffers[4]!] }), QueueShutDown);
    assert.deepEqual(
      buffers.map((b) => b.byteLength),
      [8, 8, 8, 8, 8],
    );
    assert.deepEqual([full.qsize(), fieldOf(full, 'unfinished'), shut.qsize()], [1, 1, 0]);
  });

  test('a transfer list that cannot be transferred throws TypeError before anything is put (regression)', async () => {
    // It used to throw only after the item was queued: the caller saw an error, the item was in.
    const q = new Queue<unknown>({ maxsize: 4 });
    q.putNowait('first');
    const good = new ArrayBuffer(8);
    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    const lists: [string, unknown[]][] = [
      ['not a buffer', [good, 5]],
      ['a SharedArrayBuffer', [new SharedArrayBuffer(8)]],
      ['a buffer twice', [good, good]],
      ['a detached buffer', [good, detached]],
      ['a typed array (not its buffer)', [new Uint8Array(good)]],
    ];
    for (const [name, transfer] of lists) {
      await assert.rejects(q.put({ good }, { transfer: transfer as ArrayBuffer[] }), TypeError, name);
      assert.throws(
        () => q.putSync({ good }, { transfer: transfer as ArrayBuffer[] }),
        { name: 'TypeError', message: /transfer\[\d\]/ },
        name,
      );
      assert.deepEqual(
        [q.qsize(), fieldOf(q, 'unfinished'), good.byteLength],
        [1, 1, 8],
        `${name}: the queue or the buffer changed`,
      );
    }
    const s = new SimpleQueue<unknown>();
    assert.throws(() => s.put(good, { transfer: [good, good] }), TypeError);
    assert.equal(s.qsize(), 0);
    assert.deepEqual(drain(q), ['first']);
  });
});

// ---- what cannot be cloned -------------------------------------------------------------------

describe('an uncloneable item', () => {
  test('throws TypeError at the put naming its path (item.handler); the queue, its size and its accounting unchanged', async () => {
    const lock = new Lock();
    for (const q of [new Queue<unknown>({ maxsize: 3 }), new LifoQueue<unknown>(), new PriorityQueue<unknown>()]) {
      const prio = q instanceof PriorityQueue;
      const wrap = (x: unknown) => (prio ? [1, x] : x);
      q.putNowait(wrap('a'));
      q.putNowait(wrap('b'));
      const bad = { handler: () => 1, lock };
      const path = prio ? /item\[1\]\.handler/ : /^item\.handler\b/;
      await assert.rejects(q.put(wrap(bad)), { name: 'TypeError', message: path });
      assert.throws(() => q.putSync(wrap(bad)), { name: 'TypeError', message: path });
      assert.throws(() => q.putNowait(wrap(bad)), { name: 'TypeError', message: path });
      await assert.rejects(q.put(wrap({ list: [0, { handler() {} }] }), { timeout: 5 }), {
        name: 'TypeError',
        message: /item(\[1\])?\.list\[1\]\.handler/,
      });
      assert.throws(() => q.putNowait(Symbol('s')), { name: 'TypeError', message: /item/ });
      const thread = new Thread({ target: () => 1 });
      assert.throws(() => q.putNowait(wrap({ thread })), { name: 'TypeError', message: /\.thread is a Thread/ });
      assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], [2, 2], `${q.constructor.name}: changed by failed puts`);
      // No slot was leaked: the queue fills to its bound and drains as before.
      if (q.maxsize === 3) {
        q.putNowait('c');
        assert.throws(() => q.putNowait('d'), QueueFull);
      }
      const left = drain(q);
      for (const _ of left) q.taskDone();
      await withDeadline(q.join(), 1000, q);
      assert.equal(lock.locked(), false);
    }
    const s = new SimpleQueue<unknown>();
    assert.throws(() => s.put({ handler: () => 1 }), { name: 'TypeError', message: /^item\.handler\b/ });
    assert.equal(s.qsize(), 0);
    // The lock in the failed items still travels fine afterwards.
    const q = new Queue<{ lock: Lock }>();
    q.putNowait({ lock });
    const acquired = await inPoolThread(
      async (q: Queue<{ lock: Lock }>) => q.getNowait().lock.acquireSync({ timeout: 1000 }),
      q,
    );
    assert.equal(acquired, true);
    assert.equal(lock.locked(), true);
    lock.release();
  });
});
