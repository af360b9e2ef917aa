/**
 * Property-based tests (fast-check) of the queues:
 * - random numbers of producer and consumer threads, item counts, item shapes, bounds and call
 *   forms: every item comes out exactly once, and each producer's items in order (FIFO kinds);
 * - random interleavings of put/get/taskDone/shutdown on one thread against a model: qsize,
 *   empty, full, unfinished tasks (and whether join returns), the values got and the errors thrown;
 * - PriorityQueue order against a model of SPEC's ordering, and the TypeError of an item that
 *   cannot be ordered, which leaves the queue as it was.
 *
 * The threads come from the file's pool (helpers-queue.ts), started once; runs are modest by
 * default and larger with THREADKIT_STRESS=1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { LifoQueue, PriorityQueue, Queue, SimpleQueue } from 'threadkit';
import { STRESS, withDeadline } from './helpers.js';
import { exitGuard } from './helpers-conformance.js';
import { fieldOf, inPoolThread, isPending } from './helpers-queue.js';

exitGuard();

// ---- (a) producers and consumers -------------------------------------------------------------

type KindName = 'Queue' | 'LifoQueue' | 'PriorityQueue' | 'SimpleQueue';
type Shape = 'number' | 'string' | 'record';
/** How a thread puts or gets: blocking, with a short timeout (retried), non-blocking (retried). */
type Style = 'blocking' | 'timeout' | 'nowait';

interface Scenario {
  kind: KindName;
  maxsize: number;
  shape: Shape;
  counts: number[];
  producerStyles: Style[];
  consumerStyles: Style[];
  /**
   * The main thread consumes too, with `await q.get()`: blocking, with a 1 ms timeout, or with a
   * signal that aborts after 1 ms (retried): a get that gives up must never lose an item a
   * thread put at that moment.
   */
  mainConsumes: 'blocking' | 'timeout' | 'abort' | undefined;
}

const style = fc.constantFrom<Style>('blocking', 'timeout', 'nowait');
const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    kind: fc.constantFrom<KindName>('Queue', 'SimpleQueue', 'LifoQueue', 'PriorityQueue'),
    maxsize: fc.constantFrom(0, 1, 2, 7, 64),
    shape: fc.constantFrom<Shape>('number', 'string', 'record'),
    counts: fc.array(fc.integer({ min: 0, max: STRESS ? 3000 : 300 }), { minLength: 1, maxLength: 3 }),
    consumerStyles: fc.array(style, { minLength: 1, maxLength: 3 }),
    producerStyles: fc.array(style, { minLength: 3, maxLength: 3 }),
    mainConsumes: fc.constantFrom(undefined, 'blocking' as const, 'timeout' as const, 'abort' as const),
  })
  .map((s) => ({ ...s, producerStyles: s.producerStyles.slice(0, s.counts.length) }));

/**
 * A producer thread: puts items `(id, 0)` … `(id, n - 1)` in the shape asked. Self-contained (it
 * runs in a pool thread); every wait is bounded.
 */
const producer = async (q: Queue<unknown>, id: number, n: number, shape: Shape, style: Style): Promise<void> => {
  const make = (i: number): unknown =>
    shape === 'number' ? id * 1_000_000 + i : shape === 'string' ? `${id}:${i}` : { id, i, pad: 'x'.repeat(i % 50) };
  const end = Date.now() + 20_000;
  const simple = typeof (q as { putSync?: unknown }).putSync !== 'function';
  for (let i = 0; i < n; i++) {
    const item = make(i);
    if (simple) (q as unknown as { put(x: unknown): void }).put(item);
    else if (style === 'blocking') q.putSync(item, { timeout: 20_000 });
    else {
      for (;;) {
        try {
          if (style === 'timeout') q.putSync(item, { timeout: 1 });
          else q.putNowait(item);
          break;
        } catch (e) {
          if ((e as Error).name !== 'QueueFull' || Date.now() > end) throw e;
        }
      }
    }
  }
};

/**
 * A consumer thread: gets until the queue is shut down (or a `null` sentinel, for a SimpleQueue),
 * marking each item done; returns `[producer, index]` of each, in the order it got them.
 */
const consumer = async (q: Queue<unknown>, style: Style): Promise<[number, number][]> => {
  const decode = (x: unknown): [number, number] => {
    if (typeof x === 'number') return [Math.floor(x / 1_000_000), x % 1_000_000];
    if (typeof x === 'string') return x.split(':').map(Number) as [number, number];
    const r = x as { id: number; i: number };
    return [r.id, r.i];
  };
  const got: [number, number][] = [];
  const simple = typeof (q as { taskDone?: unknown }).taskDone !== 'function';
  const end = Date.now() + 20_000;
  for (;;) {
    let x: unknown;
    try {
      if (style === 'blocking') x = q.getSync({ timeout: 20_000 });
      else if (style === 'timeout') x = q.getSync({ timeout: 1 });
      else x = q.getNowait();
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'QueueShutDown') return got;
      if (name !== 'QueueEmpty' || Date.now() > end) throw e;
      continue;
    }
    if (x === null) return got;
    got.push(decode(x));
    if (!simple) q.taskDone();
  }
};

function makeQueue(kind: KindName, maxsize: number): Queue<unknown> | SimpleQueue<unknown> {
  switch (kind) {
    case 'Queue':
      return new Queue({ maxsize });
    case 'LifoQueue':
      return new LifoQueue({ maxsize });
    case 'PriorityQueue':
      return new PriorityQueue({ maxsize });
    default:
      return new SimpleQueue();
  }
}

describe('(a) producer and consumer threads', () => {
  test('every item comes out exactly once and, for FIFO kinds, each producer’s items in order', async (t) => {
    let moved = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const q = makeQueue(s.kind, s.maxsize);
        const producers = s.counts.map((n, id) =>
          inPoolThread(producer, q as Queue<unknown>, id, n, s.shape, s.producerStyles[id]!),
        );
        const consumers = s.consumerStyles.map((style) => inPoolThread(consumer, q as Queue<unknown>, style));
        const main = s.mainConsumes
          ? (async () => {
              const got: [number, number][] = [];
              for (;;) {
                let x: unknown;
                const signal = s.mainConsumes === 'abort' ? AbortSignal.timeout(1) : undefined;
                try {
                  x = await q.get({ timeout: s.mainConsumes === 'timeout' ? 1 : 20_000, signal });
                } catch (e) {
                  if (e instanceof Error && e.name === 'QueueShutDown') return got;
                  if ((e instanceof Error && e.name === 'QueueEmpty') || (signal && e === signal.reason)) continue;
                  throw e;
                }
                if (x === null) return got;
                got.push(
                  typeof x === 'number'
                    ? [Math.floor(x / 1e6), x % 1e6]
                    : typeof x === 'string'
                      ? (x.split(':').map(Number) as [number, number])
                      : [(x as { id: number }).id, (x as { i: number }).i],
                );
                if (q instanceof Queue) q.taskDone();
              }
            })()
          : undefined;
        await withDeadline(Promise.all(producers), 30_000, q);
        // The end of the stream: a shutdown (the consumers drain, then stop), or sentinels.
        if (q instanceof SimpleQueue) for (let k = 0; k < consumers.length + (main ? 1 : 0); k++) q.put(null);
        else q.shutdown();
        const lists = await withDeadline(Promise.all([...consumers, ...(main ? [main] : [])]), 30_000, q);
        const seen = new Set<string>();
        for (const list of lists) {
          const last = new Map<number, number>();
          for (const [p, i] of list) {
            const key = `${p}:${i}`;
            assert.ok(!seen.has(key), `item ${key} came out twice`);
            seen.add(key);
            if (s.kind === 'Queue' || s.kind === 'SimpleQueue') {
              assert.ok(i > (last.get(p) ?? -1), `producer ${p}'s item ${i} came after its item ${last.get(p)}`);
              last.set(p, i);
            }
          }
        }
        const total = s.counts.reduce((a, b) => a + b, 0);
        assert.equal(seen.size, total, 'items were lost');
        moved += total;
        assert.equal(q.qsize(), 0);
        if (q instanceof Queue) {
          await withDeadline(q.join(), 10_000, q);
          assert.equal(fieldOf(q, 'unfinished'), 0);
        }
      }),
      { numRuns: STRESS ? 200 : 20, endOnFailure: !STRESS },
    );
    t.diagnostic(`${moved} items moved`);
  });
});

// ---- (b) one thread against a model ------------------------------------------------------------

type Op =
  | { op: 'put'; form: 'put' | 'putSync' | 'putNowait' | 'putBlocking' | 'putTimed' }
  | { op: 'get'; form: 'get' | 'getSync' | 'getNowait' | 'getBlocking' | 'getTimed' }
  | { op: 'taskDone' }
  | { op: 'shutdown'; immediate: boolean }
  | { op: 'join' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      form: fc.constantFrom('put', 'putSync', 'putNowait', 'putBlocking', 'putBlocking', 'putTimed'),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('get' as const),
      form: fc.constantFrom('get', 'getSync', 'getNowait', 'getBlocking', 'getBlocking', 'getTimed'),
    }),
  },
  { weight: 4, arbitrary: fc.constant({ op: 'taskDone' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('shutdown' as const), immediate: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ op: 'join' as const }) },
);

/** The model of a queue: its items (in the kind's order on the way out), unfinished tasks, shutdown. */
class Model {
  items: { prio: number; id: number }[] = [];
  unfinished = 0;
  shut = false;
  constructor(
    readonly kind: 'Queue' | 'LifoQueue' | 'PriorityQueue',
    readonly maxsize: number,
  ) {}
  full(): boolean {
    return this.maxsize > 0 && this.items.length >= this.maxsize;
  }
  /** What a put does: the error name, or undefined once the item is in. */
  put(item: { prio: number; id: number }): string | undefined {
    if (this.shut) return 'QueueShutDown';
    if (this.full()) return 'QueueFull';
    this.items.push(item);
    this.unfinished++;
    return undefined;
  }
  /** What a get does: the item, or the error name. */
  get(): { prio: number; id: number } | string {
    if (this.items.length === 0) return this.shut ? 'QueueShutDown' : 'QueueEmpty';
    let at = this.kind === 'Queue' ? 0 : this.items.length - 1;
    if (this.kind === 'PriorityQueue') {
      at = 0;
      for (let k = 1; k < this.items.length; k++) if (this.items[k]!.prio < this.items[at]!.prio) at = k;
    }
    return this.items.splice(at, 1)[0]!;
  }
  taskDone(): string | undefined {
    if (this.unfinished === 0) return 'RangeError';
    this.unfinished--;
    return undefined;
  }
  shutdown(immediate: boolean): void {
    this.shut = true;
    if (immediate) {
      // Python: each discarded item is counted done `if self.unfinished_tasks > 0`.
      this.unfinished = Math.max(0, this.unfinished - this.items.length);
      this.items = [];
    }
  }
}

/** Runs `f` and says how it ended: `ok:<json>` or `err:<ErrorName>`. */
async function outcome(f: () => unknown): Promise<string> {
  try {
    const v = await f();
    return `ok:${JSON.stringify(v)}`;
  } catch (e) {
    return `err:${(e as Error).name}`;
  }
}

describe('(b) random interleavings on one thread agree with a model', () => {
  test('qsize, empty, full, unfinished (join returns or waits), values and errors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'Queue' | 'LifoQueue' | 'PriorityQueue'>('Queue', 'LifoQueue', 'PriorityQueue'),
        fc.constantFrom(0, 1, 3),
        fc.array(fc.tuple(opArb, fc.integer({ min: 0, max: 3 })), { maxLength: 60 }),
        async (kind, maxsize, ops) => {
          const q = new (kind === 'Queue' ? Queue : kind === 'LifoQueue' ? LifoQueue : PriorityQueue)<
            [number, { id: number }]
          >({ maxsize });
          const m = new Model(kind, maxsize);
          let id = 0;
          for (const [o, prio] of ops) {
            const where = `${o.op}${'form' in o ? ` (${o.form})` : ''} #${id} on ${inspect(q)}`;
            let got: string;
            let want: string;
            switch (o.op) {
              case 'put': {
                // [priority, payload]: the payload stops the comparison, ties go in insertion order.
                const item: [number, { id: number }] = [prio, { id }];
                // A blocking put is tried only where it must not wait.
                const form = o.form === 'putBlocking' && !m.shut && m.full() ? 'putNowait' : o.form;
                got = await outcome(() => {
                  if (form === 'put') return q.put(item, { block: false });
                  if (form === 'putSync') return q.putSync(item, { timeout: 0 });
                  if (form === 'putNowait') return q.putNowait(item);
                  if (form === 'putTimed') return q.put(item, { timeout: 1 });
                  return q.put(item);
                });
                const e = m.put({ prio, id });
                want = e === undefined ? 'ok:undefined' : `err:${e}`;
                id++;
                break;
              }
              case 'get': {
                const form = o.form === 'getBlocking' && !m.shut && m.items.length === 0 ? 'getNowait' : o.form;
                got = await outcome(async () => {
                  let x: [number, { id: number }];
                  if (form === 'get') x = await q.get({ block: false });
                  else if (form === 'getSync') x = q.getSync({ timeout: 0 });
                  else if (form === 'getNowait') x = q.getNowait();
                  else if (form === 'getTimed') x = q.getSync({ timeout: 1 });
                  else x = await q.get();
                  return [x[0], x[1].id];
                });
                const r = m.get();
                want = typeof r === 'string' ? `err:${r}` : `ok:${JSON.stringify([r.prio, r.id])}`;
                break;
              }
              case 'taskDone': {
                got = await outcome(() => q.taskDone());
                const e = m.taskDone();
                want = e === undefined ? 'ok:undefined' : `err:${e}`;
                break;
              }
              case 'shutdown':
                got = await outcome(() => q.shutdown({ immediate: o.immediate }));
                m.shutdown(o.immediate);
                want = 'ok:undefined';
                break;
              case 'join': {
                // Resolves at once with nothing unfinished; otherwise waits (then aborted).
                const ac = new AbortController();
                const joining = q.join({ signal: ac.signal });
                const pending = await isPending(joining);
                ac.abort('enough');
                got = await outcome(async () => {
                  try {
                    await joining;
                  } catch (e) {
                    if (e !== 'enough') throw e;
                  }
                  if (!pending) q.joinSync();
                  return pending;
                });
                want = `ok:${m.unfinished > 0}`;
                break;
              }
            }
            assert.equal(got, want, where);
            const state = [q.qsize(), q.empty(), q.full(), fieldOf(q, 'unfinished'), /shutdown/.test(inspect(q))];
            const modelState = [m.items.length, m.items.length === 0, m.full(), m.unfinished, m.shut];
            assert.deepEqual(state, modelState, `after ${where}`);
          }
          assert.equal(fieldOf(q, 'getters') + fieldOf(q, 'putters'), 0);
        },
      ),
      { numRuns: STRESS ? 2000 : 150, endOnFailure: !STRESS },
    );
  });
});

// ---- (c) PriorityQueue order ------------------------------------------------------------------

/** Where a model comparison stops: every item equal so far is equal (SPEC). */
const STOP = Symbol('stop');

/** The kind of a comparable value, for the model: numbers and bigints are one kind. */
function kindOf(x: unknown): string | typeof STOP {
  if (typeof x === 'number' || typeof x === 'bigint') return 'number';
  if (typeof x === 'string') return 'string';
  if (Array.isArray(x)) return 'array';
  return STOP;
}

/** Code points of a string, a lone surrogate being the code point of its own value. */
const codePoints = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);

/** SPEC's ordering, written plainly: -1, 0 or 1; throws TypeError where Python's `<` would; STOP. */
function modelCompare(a: unknown, b: unknown): number {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === STOP || kb === STOP) throw STOP;
  if (ka !== kb) throw new TypeError(`${ka} against ${kb}`);
  if (ka === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) throw new TypeError('NaN');
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  const [x, y] =
    ka === 'string' ? [codePoints(a as string), codePoints(b as string)] : [a as unknown[], b as unknown[]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = ka === 'string' ? Math.sign((x[i] as number) - (y[i] as number)) : modelCompare(x[i], y[i]);
    if (c !== 0) return c;
  }
  return Math.sign(x.length - y.length);
}

function modelOrder(a: unknown, b: unknown): number {
  try {
    return modelCompare(a, b);
  } catch (e) {
    if (e === STOP) return 0;
    throw e;
  }
}

/** The model's next item: the first (in insertion order) of the lowest. */
function modelMin(items: unknown[]): number {
  let at = 0;
  for (let k = 1; k < items.length; k++) if (modelOrder(items[k], items[at]) < 0) at = k;
  return at;
}

/**
 * Items of one *shape*, so that any two can be ordered: a number (or bigint), a string, a
 * payload that stops the comparison, or a tuple of shapes (items of a tuple shape may be any
 * prefix of it, as tuples of different lengths compare in Python).
 */
type Schema = 'num' | 'str' | 'obj' | Schema[];

const schemaArb: fc.Arbitrary<Schema> = fc.letrec<{ s: Schema }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<Schema>('num', 'str', 'obj'),
    fc.array(tie('s'), { maxLength: 3 }),
  ),
})).s;

const numArb = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.bigInt({ min: -3n, max: 3n }),
  fc.constantFrom(-0, 0.5, -1e-300, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 2n ** 53n + 1n),
);
/** Units around the places where UTF-16 order and code-point order differ. */
const unitArb = fc.constantFrom(
  'a',
  'b',
  '\uD7FF',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uE000',
  '\uFFFF',
  '😀',
  '\u{10000}',
  '\u{10FFFF}',
);
const strArb = fc.array(unitArb, { maxLength: 4 }).map((u) => u.join(''));
let payloadSeq = 0;
const objArb = fc.constant(null).map(() => ({ payload: payloadSeq++ }));

function itemArb(schema: Schema): fc.Arbitrary<unknown> {
  if (schema === 'num') return numArb;
  if (schema === 'str') return strArb;
  if (schema === 'obj') return objArb;
  const parts = schema.map(itemArb);
  return fc.integer({ min: 0, max: schema.length }).chain((n) => fc.tuple(...parts.slice(0, n)));
}

/** A program of puts (the item) and gets (`undefined`). */
const programArb = schemaArb.chain((schema) =>
  fc.array(fc.option(itemArb(schema), { nil: undefined, freq: 3 }), { maxLength: 40 }),
);

/** Which form each operation uses: Promise, sync or nowait. */
const formArb = fc.array(fc.constantFrom(0, 1, 2), { minLength: 40, maxLength: 40 });

describe('(c) PriorityQueue order against a model of SPEC', () => {
  test('numbers and bigints by value, strings by code point, tuples recursively, stopping at payloads, ties in insertion order', async () => {
    let threaded = 0;
    await fc.assert(
      fc.asyncProperty(programArb, formArb, fc.boolean(), async (program, forms, drainInThread) => {
        const q = new PriorityQueue<unknown>();
        const model: unknown[] = [];
        const sameItem = (got: unknown, want: unknown, where: string): void => {
          // The payloads come back as copies: compare by their numbers, not identity.
          assert.deepStrictEqual(got, want, where);
        };
        for (const [k, item] of program.entries()) {
          const form = forms[k]!;
          if (item !== undefined) {
            if (form === 0) await q.put(item);
            else if (form === 1) q.putSync(item);
            else q.putNowait(item);
            model.push(item);
          } else if (model.length > 0) {
            const got = form === 0 ? await q.get() : form === 1 ? q.getSync() : q.getNowait();
            sameItem(got, model.splice(modelMin(model), 1)[0], `get #${k}`);
          }
          assert.equal(q.qsize(), model.length);
        }
        // What is left comes out in model order, here or in another thread.
        const want: unknown[] = [];
        while (model.length > 0) want.push(model.splice(modelMin(model), 1)[0]);
        let rest: unknown[];
        if (drainInThread) {
          threaded++;
          rest = await inPoolThread(async (q: PriorityQueue<unknown>) => {
            const out = [];
            while (q.qsize() > 0) out.push(q.getNowait());
            return out;
          }, q);
        } else {
          rest = [];
          while (q.qsize() > 0) rest.push(q.getNowait());
        }
        sameItem(rest, want, 'the items left');
      }),
      { numRuns: STRESS ? 2000 : 200, endOnFailure: !STRESS },
    );
    assert.ok(threaded > 0);
  });

  test('NaN, or kinds that cannot be ordered, throw TypeError from the put that meets them; the queue is left unchanged', async () => {
    // Numbers (and bigints), with poison: NaN, a string, [n] or [NaN] against numbers. A put meets
    // the items already in: it throws if it cannot be ordered against them (the test keeps to
    // programs where that is so against all of them or none, which any heap must then agree on).
    const valueArb = fc.oneof(
      { weight: 6, arbitrary: numArb },
      { weight: 1, arbitrary: fc.constant(Number.NaN) },
      { weight: 1, arbitrary: fc.constantFrom('s', 't') },
      { weight: 1, arbitrary: fc.constantFrom([1], [Number.NaN], [2n]) },
    );
    let thrown = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(valueArb, { nil: undefined, freq: 3 }), { maxLength: 40 }),
        formArb,
        async (program, forms) => {
          const q = new PriorityQueue<unknown>();
          const model: unknown[] = [];
          for (const [k, item] of program.entries()) {
            const form = forms[k]!;
            if (item === undefined) {
              if (model.length === 0) continue;
              const got = form === 1 ? q.getSync() : form === 2 ? q.getNowait() : await q.get();
              assert.deepStrictEqual(got, model.splice(modelMin(model), 1)[0], `get #${k}`);
              continue;
            }
            const meets = model.map((x) => {
              try {
                modelOrder(item, x);
                return false;
              } catch {
                return true;
              }
            });
            if (meets.some(Boolean) && !meets.every(Boolean)) continue; // heap-dependent: not asked
            const before = [q.qsize(), fieldOf(q, 'unfinished')];
            let error: unknown;
            try {
              if (form === 0) await q.put(item);
              else if (form === 1) q.putSync(item);
              else q.putNowait(item);
            } catch (e) {
              error = e;
            }
            if (meets.length > 0 && meets[0]) {
              thrown++;
              assert.ok(
                error instanceof TypeError,
                `put #${k} of ${inspect(item)} did not throw TypeError: ${inspect(error)}`,
              );
              assert.deepEqual([q.qsize(), fieldOf(q, 'unfinished')], before, 'a put that threw changed the queue');
            } else {
              assert.equal(error, undefined, `put #${k} of ${inspect(item)}`);
              model.push(item);
            }
          }
          // Nothing lost: everything left comes out, in model order.
          const rest: unknown[] = [];
          while (q.qsize() > 0) rest.push(q.getNowait());
          const want: unknown[] = [];
          while (model.length > 0) want.push(model.splice(modelMin(model), 1)[0]);
          assert.deepStrictEqual(rest, want);
        },
      ),
      { numRuns: STRESS ? 2000 : 200, endOnFailure: !STRESS },
    );
    assert.ok(thrown > 0, 'no put ever threw: the generator missed the point');
  });
});
