/**
 * The conformance harness of the queues, after CPython's `Lib/test/test_queue.py`: each behaviour
 * is written once and registered for both forms of the API, as `helpers-conformance.ts` does for
 * the synchronization primitives (read its header first: drivers, actors, `ops`).
 *
 * What this file adds is the queue operations of `ops`: `ops.put`, `ops.get` and `ops.join` call
 * `put`/`get`/`join` (Promise form) or `putSync`/`getSync`/`joinSync` (sync form), on top of the
 * primitives' ops (`sleep`, `timed`, `outcome`). The `async` driver runs an actor right here on
 * the main thread; the `sync` driver ships it, with both ops builders' sources, to a thread of the
 * file's actor pool (below), as it does other functions a test runs in a thread (`inPoolThread`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { type GetOptions, type PutOptions, SimpleQueue, Thread } from 'threadkit';
import { withDeadline } from './helpers.js';
import { ActorTracker, type Form, FORMS, makeOps, type Ops } from './helpers-conformance.js';

/** A queue's two put forms (Queue and its kinds). */
export interface Puttable<T> {
  put(item: T, options?: PutOptions): Promise<void>;
  putSync(item: T, options?: Omit<PutOptions, 'signal'>): void;
}

/** A queue's two get forms (every kind, SimpleQueue included). */
export interface Gettable<T> {
  get(options?: GetOptions): Promise<T>;
  getSync(options?: Omit<GetOptions, 'signal'>): T;
}

export interface Joinable {
  join(options?: { signal?: AbortSignal }): Promise<void>;
  joinSync(): void;
}

/**
 * The ops of a queue actor. Each blocking one calls the Promise form (async driver) or the sync
 * form (sync driver); always `await` the result.
 */
export interface QueueOps extends Ops {
  put<T>(q: Puttable<T>, item: T, options?: PutOptions): Promise<void> | void;
  get<T>(q: Gettable<T>, options?: GetOptions): Promise<T> | T;
  join(q: Joinable): Promise<void> | void;
}

/** Adds the queue operations to the primitives' ops. Self-contained: shipped to threads by source. */
export function makeQueueOps(base: Ops): QueueOps {
  const sync = base.form === 'sync';
  return Object.assign(base, {
    put: <T>(q: Puttable<T>, item: T, o?: PutOptions) => (sync ? q.putSync(item, o) : q.put(item, o)),
    get: <T>(q: Gettable<T>, o?: GetOptions) => (sync ? q.getSync(o) : q.get(o)),
    join: (q: Joinable) => (sync ? q.joinSync() : q.join()),
  });
}

// ---- a pool of actor threads ------------------------------------------------------------------
//
// Under tsx a new thread costs some 0.3 s (the loader starts again in it), so the sync actors of
// every test of a file run in a few long-lived daemon threads, started on demand: the pool starts
// one more whenever every thread it has is busy, so an actor never waits for another to finish.
// Jobs reach the threads through a SimpleQueue (its items carry the queues and primitives an
// actor works on, shared, as thread arguments do), and each job answers through a SimpleQueue of
// its own. The harness thus relies on the most basic put/get of the queues it tests: if those
// break, every test of the file fails, which says as much.

/** A job for a pool thread: a self-contained function's source, its arguments, where to answer. */
interface Job {
  fn: string;
  args: unknown[];
  /** With queue ops: the sources of the two ops builders (the function gets the ops first). */
  ops?: [string, string];
  reply: SimpleQueue<{ ok: boolean; value?: unknown; error?: unknown }>;
}

/** The loop of a pool thread: runs jobs until it gets `null`. */
const poolLoop = async (jobs: SimpleQueue<Job | null>): Promise<void> => {
  // esbuild-based loaders (tsx) put `__name(fn, "name")` calls into function sources.
  const nameHelper = (f: object, value: string): object =>
    Object.defineProperty(f, 'name', { value, configurable: true });
  const compiled = new Map<string, (...a: unknown[]) => unknown>();
  const compile = (src: string): ((...a: unknown[]) => unknown) => {
    let f = compiled.get(src);
    if (f === undefined) {
      f = new Function('__name', `"use strict";return (${src}\n);`)(nameHelper) as (...a: unknown[]) => unknown;
      compiled.set(src, f);
    }
    return f;
  };
  for (;;) {
    // Idle between jobs with no timeout: a daemon thread, ended by `null` or by the process exit.
    const job = jobs.getSync();
    if (job === null) return;
    let answer: { ok: boolean; value?: unknown; error?: unknown };
    try {
      const fn = compile(job.fn);
      const value = job.ops
        ? await fn(compile(job.ops[1])(compile(job.ops[0])('sync')), ...job.args)
        : await fn(...job.args);
      answer = { ok: true, value };
    } catch (error) {
      answer = { ok: false, error };
    }
    try {
      job.reply.put(answer);
    } catch (error) {
      job.reply.put({ ok: false, error }); // a result that cannot travel
    }
  }
};

/** The pool of actor threads of this test file. */
class ActorPool {
  #jobs = new SimpleQueue<Job | null>();
  #threads: Thread[] = [];
  #busy = 0;
  /** Aborts the replies still awaited, when the threads are terminated. */
  #pending = new Set<AbortController>();

  /** Runs `fn(...args)` (with sync queue ops first if `withOps`) in a pool thread. */
  async run<R>(fn: (...a: any[]) => R | Promise<R>, args: unknown[], withOps: boolean): Promise<Awaited<R>> {
    if (this.#busy >= this.#threads.length) this.#grow();
    this.#busy++;
    const reply = new SimpleQueue<{ ok: boolean; value?: unknown; error?: unknown }>();
    const ac = new AbortController();
    this.#pending.add(ac);
    try {
      this.#jobs.put({
        fn: fn.toString(),
        args,
        ops: withOps ? [makeOps.toString(), makeQueueOps.toString()] : undefined,
        reply,
      });
      const answer = await reply.get({ signal: ac.signal });
      if (!answer.ok) throw answer.error;
      return answer.value as Awaited<R>;
    } finally {
      this.#pending.delete(ac);
      this.#busy--;
    }
  }

  #grow(): void {
    const t = new Thread({
      target: poolLoop as (...a: unknown[]) => Promise<void>,
      args: [this.#jobs],
      name: `queue-actor-${this.#threads.length + 1}`,
      daemon: true,
    });
    t.start();
    this.#threads.push(t);
  }

  /** Terminates every thread (after a test that hung): the next job starts afresh. */
  async reset(): Promise<void> {
    const threads = this.#threads;
    this.#threads = [];
    this.#jobs = new SimpleQueue<Job | null>();
    for (const ac of this.#pending) ac.abort(new Error('the actor threads were terminated'));
    await Promise.all(threads.map((t) => t.terminate()));
  }

  get size(): number {
    return this.#threads.length;
  }
}

const pool = new ActorPool();

/**
 * Runs a self-contained function in a thread of the pool and returns its result (or rejects with
 * its error). For tests that need a thread for a moment, without paying for a new one.
 */
export function inPoolThread<A extends unknown[], R>(
  fn: (...args: A) => R | Promise<R>,
  ...args: A
): Promise<Awaited<R>> {
  return pool.run(fn, args, false);
}

export type QueueActor<A extends unknown[], R> = (ops: QueueOps, ...args: A) => R | Promise<R>;

/** One driver, for one test: starts actors, tracks them, and checks after the test. */
export class QueueDriver extends ActorTracker {
  /** Runs `actor` in this driver's form: on the main thread (async) or in a thread (sync). */
  start<A extends unknown[], R>(actor: QueueActor<A, R>, ...args: A): Promise<Awaited<R>> {
    if (this.form === 'sync') return this.inThread(actor, ...args);
    const ops = makeQueueOps(makeOps('async'));
    return this.track(Promise.resolve().then(() => actor(ops, ...args)) as Promise<Awaited<R>>);
  }

  /** Runs `actor` with the sync ops in a thread, whatever the driver. */
  inThread<A extends unknown[], R>(actor: QueueActor<A, R>, ...args: A): Promise<Awaited<R>> {
    return this.track(pool.run(actor as (...a: unknown[]) => R, args, true));
  }

  /**
   * After the body: every actor must have finished (a leftover waiter is a lost wake-up or a test
   * that forgot one). If one has not, the pool's threads are terminated, so the process can exit.
   */
  async finish(bodyPassed: boolean): Promise<void> {
    const pending = this.pending.size;
    if (pending === 0) return;
    await pool.reset();
    if (bodyPassed) assert.fail(`${pending} actor(s) still running after the test; state: ${inspect(this.watched)}`);
  }
}

const LABEL: Record<Form, string> = {
  async: '[Promise API, main thread]',
  sync: '[Sync API, in threads]',
};

/** Registers `body` once per form, as `[form] title`. */
export function queueConformance(
  title: string,
  body: (d: QueueDriver) => Promise<void>,
  options: { forms?: readonly Form[]; deadline?: number } = {},
): void {
  for (const form of options.forms ?? FORMS) {
    test(`${LABEL[form]} ${title}`, async () => {
      const d = new QueueDriver(form);
      let passed = false;
      try {
        await withDeadline(body(d), options.deadline ?? 20_000, d.watched, () => pool.reset());
        passed = true;
      } finally {
        await d.finish(passed);
      }
    });
  }
}

// ---- reading a queue's state -----------------------------------------------------------------

/** A field `name=N` of a queue's `util.inspect` text. */
export function fieldOf(q: unknown, name: 'size' | 'maxsize' | 'getters' | 'putters' | 'unfinished'): number {
  const text = inspect(q);
  const m = new RegExp(`\\b${name}=(\\d+)`).exec(text);
  if (m === null) assert.fail(`no ${name}=N in ${text}`);
  return Number(m[1]);
}

/** Joins parked on a queue (they are not part of its `util.inspect` text: read the internal count). */
export function joinersOf(q: unknown): number {
  return (q as { _waiters(): { joiners: number } })._waiters().joiners;
}

/**
 * Polls until `pred()` holds (at most `ms`): used to wait until a waiter has *reached* its wait,
 * which only the queue's own state can tell. Fails at once if `actor` (the waiter) settles first:
 * its outcome is then the failure to show, not a timeout.
 */
export async function until(
  pred: () => boolean,
  what: string,
  { state, actor, ms = 10_000 }: { state?: unknown; actor?: Promise<unknown>; ms?: number } = {},
): Promise<void> {
  const end = performance.now() + ms;
  let settled: string | undefined;
  actor?.then(
    (v) => (settled = `returned ${inspect(v)}`),
    (e) => (settled = `failed with ${inspect(e)}`),
  );
  while (!pred()) {
    if (settled !== undefined) assert.fail(`the waiter ${settled} before ${what}; state: ${inspect(state)}`);
    if (performance.now() > end) assert.fail(`gave up waiting until ${what}; state: ${inspect(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Waits until `q` shows `n` parked getters (`util.inspect`). */
export function untilGetters(q: unknown, n: number, actor?: Promise<unknown>): Promise<void> {
  return until(() => fieldOf(q, 'getters') === n, `${n} getter(s) wait on it`, { state: q, actor });
}

/** Waits until `q` shows `n` parked putters (`util.inspect`). */
export function untilPutters(q: unknown, n: number, actor?: Promise<unknown>): Promise<void> {
  return until(() => fieldOf(q, 'putters') === n, `${n} putter(s) wait on it`, { state: q, actor });
}

/** Waits until `n` joins are parked on `q`. */
export function untilJoiners(q: unknown, n: number, actor?: Promise<unknown>): Promise<void> {
  return until(() => joinersOf(q) === n, `${n} join(s) wait on it`, { state: q, actor });
}

/** Whether `p` is still pending after the event loop has gone round once (plus a timer tick). */
export async function isPending(p: Promise<unknown>): Promise<boolean> {
  const PENDING = Symbol('pending');
  const tick = new Promise((resolve) => setTimeout(() => resolve(PENDING), 1));
  const r = await Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    tick,
  ]);
  return r === PENDING;
}

/** Drains a queue with `getNowait()` (no waiting), returning the items in the order they came. */
export function drain<T>(q: { getNowait(): T; qsize(): number }): T[] {
  const out: T[] = [];
  while (q.qsize() > 0) out.push(q.getNowait());
  return out;
}
