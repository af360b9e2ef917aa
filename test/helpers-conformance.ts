/**
 * The conformance harness of the seven synchronization primitives, after CPython's
 * `Lib/test/lock_tests.py`: each behaviour is written once and registered for every *driver*.
 *
 * A driver is one form of the API:
 * - `async`: the Promise API (`acquire`, `wait`, `waitFor`, `withLock`) on the main thread;
 * - `sync`: the blocking API (`acquireSync`, `waitSync`, `waitForSync`, `withLockSync`) in threads.
 *
 * A test body receives a `Driver` and starts *actors* with `d.start(actor, ...args)`. An actor is a
 * self-contained async function `(ops, ...args) => result` that reaches the primitives only through
 * `ops`, whose methods call the Promise form or the sync form according to the driver. The `async`
 * driver runs the actor right here, on the main thread; the `sync` driver ships its source to a new
 * thread and runs it there with sync `ops`. The main thread awaiting `acquire()` while threads call
 * `acquireSync()` on the same lock (the mixed case) is what a body gets when it adds helper threads
 * with `d.inThread(actor, ...args)`, which always run in a thread of their own.
 *
 * Because the same actor source runs in threads, actors must be self-contained: they see only
 * their parameters and globals (`await import('threadkit')` inside works).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { type AcquireOptions, type Condition, Event, Thread, type WaitOptions } from 'threadkit';
import { withDeadline } from './helpers.js';

export type Form = 'async' | 'sync';

export const FORMS: readonly Form[] = ['async', 'sync'];

const LABEL: Record<Form, string> = {
  async: '[Promise API, main thread]',
  sync: '[Sync API, in threads]',
};

/** Anything with both acquire forms (Lock, RLock, Condition, Semaphore, BoundedSemaphore). */
export interface Acquirable {
  acquire(options?: AcquireOptions): Promise<boolean>;
  acquireSync(options?: Omit<AcquireOptions, 'signal'>): boolean;
}

/** Anything with both wait forms (Condition, Event: boolean; Barrier: number). */
export interface Waitable<T> {
  wait(options?: WaitOptions): Promise<T>;
  waitSync(options?: Omit<WaitOptions, 'signal'>): T;
}

export interface Guarded {
  withLock<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>>;
  withLockSync<T>(fn: () => T): T;
}

/**
 * The operations an actor uses. Each blocking one calls the Promise form (async driver) or the
 * sync form (sync driver); always `await` the result, which is a plain value in the sync form.
 */
export interface Ops {
  readonly form: Form;
  acquire(p: Acquirable, options?: AcquireOptions): Promise<boolean> | boolean;
  wait<T>(p: Waitable<T>, options?: WaitOptions): Promise<T> | T;
  waitFor<T>(c: Condition, predicate: () => T, options?: WaitOptions): Promise<T> | T;
  withLock<T>(p: Guarded, fn: () => T): Promise<T> | T;
  /** Sleeps: `setTimeout` in the async form, a blocking `Atomics.wait` in the sync form. */
  sleep(ms: number): Promise<void> | void;
  /** Runs `f` and measures it: `{ value, ms }`. */
  timed<T>(f: () => T): Promise<{ value: Awaited<T>; ms: number }>;
  /**
   * How a call ended, as a string: `returned:<json>` / `threw:<ErrorName>` for a value or a
   * synchronous throw, `resolved:<json>` / `rejected:<ErrorName>` for a Promise. Compare with
   * `d.failure(name)` / `d.success(value)`, which know which of the two the form must give.
   */
  outcome(f: () => unknown): Promise<string>;
}

/**
 * Builds the ops of a form. Self-contained: the sync driver ships this function's source to each
 * thread and builds the ops there.
 */
export function makeOps(form: Form): Ops {
  const sync = form === 'sync';
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const nameOf = (e: unknown): string =>
    e !== null && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string'
      ? (e as { name: string }).name
      : `non-error ${String(e)}`;
  return {
    form,
    acquire: (p, o) => (sync ? p.acquireSync(o) : p.acquire(o)),
    wait: (p, o) => (sync ? p.waitSync(o) : p.wait(o)),
    waitFor: (c, pred, o) => (sync ? c.waitForSync(pred, o) : c.waitFor(pred, o)),
    withLock: (p, fn) => (sync ? p.withLockSync(fn) : (p.withLock(fn) as Promise<any>)),
    sleep: (ms) => {
      if (sync) Atomics.wait(nap, 0, 0, ms);
      else return new Promise<void>((resolve) => setTimeout(resolve, ms));
    },
    async timed(f) {
      const t0 = performance.now();
      const value = await f();
      return { value, ms: performance.now() - t0 };
    },
    async outcome(f) {
      let r: unknown;
      try {
        r = f();
      } catch (e) {
        return `threw:${nameOf(e)}`;
      }
      if (r instanceof Promise) {
        return r.then(
          (v) => `resolved:${JSON.stringify(v)}`,
          (e) => `rejected:${nameOf(e)}`,
        );
      }
      return `returned:${JSON.stringify(r)}`;
    },
  };
}

/** The target of every actor thread: builds the ops of `form` and runs the actor's source. */
const runActor = async (form: string, opsSrc: string, actorSrc: string, args: unknown[]): Promise<unknown> => {
  // esbuild-based loaders (tsx) put `__name(fn, "name")` calls into function sources.
  const nameHelper = (f: object, value: string): object =>
    Object.defineProperty(f, 'name', { value, configurable: true });
  const compile = (src: string): ((...a: unknown[]) => unknown) =>
    new Function('__name', `"use strict";return (${src}\n);`)(nameHelper);
  return compile(actorSrc)(compile(opsSrc)(form), ...args);
};

export type Actor<A extends unknown[], R> = (ops: Ops, ...args: A) => R | Promise<R>;

let actorSeq = 0;

/**
 * What every test driver shares: its form, the state dumped when the test hangs, the actors it
 * started and not yet seen finish, and the outcomes `ops.outcome` gives in its form.
 */
export class ActorTracker {
  readonly form: Form;
  /** Shown by `util.inspect` when the test's deadline passes. */
  readonly watched: unknown[] = [];
  /** Actors started and not finished. */
  protected readonly pending = new Set<Promise<unknown>>();

  constructor(form: Form) {
    this.form = form;
  }

  /** Adds primitives (or queues) to the state dumped when the test hangs. */
  watch(...xs: unknown[]): void {
    this.watched.push(...xs);
  }

  /** What `ops.outcome` gives for an error of class `name` in this form (reject vs throw). */
  failure(name: string): string {
    return `${this.form === 'async' ? 'rejected' : 'threw'}:${name}`;
  }

  /** What `ops.outcome` gives for a value in this form (resolve vs return). */
  success(value: unknown): string {
    return `${this.form === 'async' ? 'resolved' : 'returned'}:${JSON.stringify(value)}`;
  }

  /** Counts `p` as pending until it settles (which also marks it handled until the test awaits it). */
  protected track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = (): void => {
      this.pending.delete(p);
    };
    p.then(done, done);
    return p;
  }
}

/** One driver, for one test: starts actors, tracks them, and cleans up after the test. */
export class Driver extends ActorTracker {
  readonly #threads: Thread[] = [];

  /** Runs `actor` in this driver's form: on the main thread (async) or in a new thread (sync). */
  start<A extends unknown[], R>(actor: Actor<A, R>, ...args: A): Promise<Awaited<R>> {
    if (this.form === 'sync') return this.inThread(actor, ...args);
    return this.track(Promise.resolve().then(() => actor(makeOps('async'), ...args)) as Promise<Awaited<R>>);
  }

  /** Runs `actor` with the sync ops in a new thread, whatever the driver. */
  inThread<A extends unknown[], R>(actor: Actor<A, R>, ...args: A): Promise<Awaited<R>> {
    return this.inThreadAs('sync', actor, ...args);
  }

  /** Runs `actor` with the ops of `form` in a new thread. */
  inThreadAs<A extends unknown[], R>(form: Form, actor: Actor<A, R>, ...args: A): Promise<Awaited<R>> {
    const t = new Thread<Awaited<R>>({
      target: runActor as (...a: unknown[]) => Awaited<R>,
      args: [form, makeOps.toString(), actor.toString(), args],
      name: `actor-${++actorSeq}`,
    });
    t.start();
    this.#threads.push(t);
    return this.track(t.result());
  }

  /**
   * Has a thread of its own acquire `lock` (a lock, RLock or Condition) and hold it until the
   * returned function is called; resolves once that thread holds it. The returned function lets
   * the thread release it and resolves when the thread is done.
   */
  async holdInThread(lock: Acquirable & { release(): void }): Promise<() => Promise<void>> {
    const held = new Event();
    const go = new Event();
    this.watch(lock, held, go);
    const owner = this.inThread(
      async (ops, l: Acquirable & { release(): void }, h: Event, g: Event) => {
        await ops.acquire(l);
        h.set();
        await ops.wait(g);
        l.release();
      },
      lock,
      held,
      go,
    );
    await held.wait();
    return async () => {
      go.set();
      await owner;
    };
  }

  /** Ends every thread still running (after a hang). */
  async terminateAll(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.terminate()));
  }

  /**
   * After the body: every actor must have finished (a leftover waiter is a lost wake-up or a
   * test that forgot one). Threads still running are terminated, so the process can exit.
   */
  async finish(bodyPassed: boolean): Promise<void> {
    const alive = this.#threads.filter((t) => t.isAlive()).map((t) => t.name);
    const pending = this.pending.size;
    await this.terminateAll();
    await Promise.all(this.#threads.map((t) => t.join()));
    if (bodyPassed && (alive.length > 0 || pending > 0)) {
      assert.fail(
        `actors still running after the test: ${pending} pending` +
          `${alive.length ? ` (threads ${alive.join(', ')})` : ''}; state: ${inspect(this.watched)}`,
      );
    }
  }
}

export interface ConformanceOptions {
  /** The forms to run it for (default both). */
  forms?: readonly Form[];
  /** Milliseconds before the test fails as hung, dumping the watched primitives. */
  deadline?: number;
}

/** Registers `body` once per driver, as `[form] title`. */
export function conformance(title: string, body: (d: Driver) => Promise<void>, options: ConformanceOptions = {}): void {
  for (const form of options.forms ?? FORMS) {
    test(`${LABEL[form]} ${title}`, async () => {
      const d = new Driver(form);
      let passed = false;
      try {
        await withDeadline(body(d), options.deadline ?? 20_000, d.watched, () => d.terminateAll());
        passed = true;
      } finally {
        await d.finish(passed);
      }
    });
  }
}

/**
 * Polls until `pred()` holds (at most `ms`): used to wait until a waiter has *reached* its wait,
 * which only the primitive's own state can tell. Fails with the inspected `state` otherwise.
 */
export async function until(pred: () => boolean, what: string, state?: unknown, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) assert.fail(`gave up waiting until ${what}; state: ${inspect(state)}`);
    await delay(2);
  }
}

/** The `waiters=N` a primitive shows under util.inspect (its first one, for a Condition). */
export function waitersOf(p: unknown): number {
  const m = /waiters=(\d+)/.exec(inspect(p));
  if (m === null) assert.fail(`no waiters=N in ${inspect(p)}`);
  return Number(m[1]);
}

/** Waits until `p` shows `n` waiters. */
export function untilWaiters(p: unknown, n: number): Promise<void> {
  return until(() => waitersOf(p) === n, `${n} waiter(s) wait on it`, p);
}

/**
 * "Returned at once": well under any timeout a test uses, yet loose enough for a thread that is
 * descheduled on a loaded 2-core machine. A call that wrongly waits hangs the test instead.
 */
export const INSTANT_MS = 500;

/** Upper slack on timing assertions: this is a loaded 2-core machine. */
export const SLACK_MS = 3_000;

/** Asserts that a timed-out call took at least `timeout` ms, and not absurdly longer. */
export function assertTookAbout(ms: number, timeout: number, what = 'the call'): void {
  // 1 ms of tolerance for the rounding of performance.now() readings taken in two places.
  assert.ok(ms >= timeout - 1, `${what} returned after ${ms.toFixed(1)} ms, before its ${timeout} ms timeout`);
  assert.ok(
    ms < timeout + SLACK_MS,
    `${what} returned after ${ms.toFixed(1)} ms, long after its ${timeout} ms timeout`,
  );
}

/**
 * Wakes every sleeper on the primitive's own shared words every few ms, as a spurious wake-up
 * would (the word is left unchanged); returns the function that stops it. Waiters must treat a
 * wake-up as a hint and keep one deadline. Layout-agnostic: it notifies every word.
 */
export function spuriousWakes(p: object, everyMs = 5): () => void {
  const i32 = (p as { _i32?: Int32Array })._i32;
  assert.ok(i32 instanceof Int32Array, 'the primitive keeps its shared words in _i32');
  const timer = setInterval(() => {
    for (let i = 0; i < i32.length; i++) Atomics.notify(i32, i);
  }, everyMs);
  return () => clearInterval(timer);
}

/** A shared Int32Array of `n` words (counters, flags, logs shared with threads). */
export function sharedInts(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/**
 * A safety net for hangs: if the process is still alive a few seconds after the last test of the
 * file (a waiter left pending by a failed test holds the event loop), say so and exit non-zero.
 * When everything passes and nothing leaks, the process has exited long before this fires.
 */
export function exitGuard(): void {
  after(() => {
    setTimeout(() => {
      process.stderr.write('conformance: the process was still alive 5 s after its last test (a leaked wait?)\n');
      process.exit(1);
    }, 5_000).unref();
  });
}
