/**
 * `Future`: the eventual outcome of a task submitted to a `ThreadPool`. Python's
 * `concurrent.futures.Future`, awaitable.
 *
 * States: `pending` (queued, or handed to a thread that has not begun it) → `running` (its
 * thread has begun it) → `finished` (returned or threw) — or `cancelled` from `pending` (or from
 * `running` with `cancel({ force: true })`, which terminates its thread).
 *
 * A Future is a native Promise (a subclass whose `constructor` property reads `Promise`), so
 * `await future` and `Promise.all(futures)` take it as is: no wrapping Promise and no extra turn
 * per task, which matters for a pool settling hundreds of thousands of them a second. Its
 * `then` makes plain Promises (`Symbol.species`). A failed future that nobody observes raises
 * nothing: it is marked handled as it fails, so an unobserved failure is no unhandled rejection
 * (a chain a caller builds on it, `future.then(f)`, is the caller's, as for any Promise).
 */
import { inspect } from 'node:util';
import { argTypeError, CancelledError, TimeoutError } from '../errors.js';
import { longTimeout } from '../shared/clock.js';
import { describe, optionsOf, timeoutOf } from '../shared/validate.js';
import { UNSHAREABLE } from '../wire/kinds.js';

type State = 'pending' | 'running' | 'cancelled' | 'finished';

/** What the pool engine lets a future ask of it. */
export interface TaskControl {
  /** Whether the task's thread has begun it (read from shared memory). */
  isRunning(): boolean;
  /** Cancels a task not begun; with `force`, terminates its thread if it has begun. */
  cancel(force: boolean): boolean;
}

const BRAND = Symbol.for('threadkit.Future');

const noop = (): void => {};

/**
 * The outcome of a task, to come. Await it (`await future`), or use Python's methods:
 * `result()`, `exception()`, `done()`, `cancel()`, `addDoneCallback()`.
 *
 * @example
 * const f = pool.submit((n: number) => n * 2, 21);
 * f.addDoneCallback((f) => console.log('done'));
 * console.log(await f); // 42
 */
export class Future<T = unknown> extends Promise<T> implements PromiseLike<T> {
  #state: State = 'pending';
  #ok = false;
  #value: T | undefined;
  #error: unknown;
  // Not `Future<T>`: a field of function type would make Future invariant in T, and a
  // Future<number> could then not be given where a Future<unknown> is taken (wait([f1, f2])).
  #callbacks: ((f: Future<any>) => void)[] = [];
  #resolve: (v: any) => void;
  #reject: (e: unknown) => void;
  #control: TaskControl | undefined;

  /** @internal Made by the pool (`ThreadPool.submit`). */
  constructor(control?: TaskControl) {
    if (typeof control === 'function') {
      throw argTypeError(
        'A Future is made by ThreadPool.submit(), run() or map(); for a Promise of your own, use Promise',
      );
    }
    let resolve!: (v: any) => void;
    let reject!: (e: unknown) => void;
    super((a, b) => {
      resolve = a;
      reject = b;
    });
    this.#resolve = resolve;
    this.#reject = reject;
    this.#control = control;
  }

  /** Promises made from a Future (`then`, `catch`, `finally`) are plain Promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /**
   * Cancels the task if it has not begun (`true`); a running or finished one is not cancelled
   * (`false`), unless `force: true` on a running one: its thread is terminated (the pool starts
   * another) and it is cancelled. A cancelled future's `result()` rejects with `CancelledError`.
   */
  cancel(options?: { force?: boolean }): boolean {
    const o = optionsOf(options, 'Future.cancel');
    if (o.force !== undefined && typeof o.force !== 'boolean') {
      throw argTypeError(`Expected \`force\` to be a boolean, got ${describe(o.force)}`);
    }
    if (this.#state === 'cancelled') return true;
    if (this.#state === 'finished') return false;
    const control = this.#control;
    if (control === undefined) {
      this._cancelled();
      return true;
    }
    return control.cancel(o.force === true);
  }

  /** Whether it was cancelled. */
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  /** Whether its thread is running it now. */
  running(): boolean {
    if (this.#state === 'pending' && this.#control?.isRunning()) this.#state = 'running';
    return this.#state === 'running';
  }

  /** Whether it finished or was cancelled. */
  done(): boolean {
    return this.#state === 'finished' || this.#state === 'cancelled';
  }

  /**
   * Its value, once finished: rejects with its error, with `CancelledError` if it was cancelled,
   * or with `TimeoutError` if `timeout` ms pass first (the task goes on: `done()` tells).
   */
  result(options?: { timeout?: number }): Promise<T> {
    return this.#wait(options, 'Future.result').then(() => {
      if (this.#state === 'cancelled') throw new CancelledError('the future was cancelled');
      if (!this.#ok) throw this.#error;
      return this.#value as T;
    });
  }

  /**
   * Its error (`undefined` if it returned), once finished; `CancelledError` if it was cancelled;
   * `TimeoutError` if `timeout` ms pass first.
   */
  exception(options?: { timeout?: number }): Promise<unknown> {
    return this.#wait(options, 'Future.exception').then(() => {
      if (this.#state === 'cancelled') throw new CancelledError('the future was cancelled');
      return this.#ok ? undefined : this.#error;
    });
  }

  /**
   * Calls `fn(future)` when it is done (finished or cancelled), at once if it already is. A
   * callback that throws is reported on stderr (as Python's logger does) and the others still run.
   */
  addDoneCallback(fn: (f: Future<T>) => void): void {
    if (typeof fn !== 'function') throw argTypeError(`Expected \`fn\` to be a function, got ${describe(fn)}`);
    if (this.done()) this.#call(fn);
    else this.#callbacks.push(fn);
  }

  #wait(options: { timeout?: number } | undefined, where: string): Promise<void> {
    let timeout: number;
    try {
      timeout = timeoutOf(optionsOf(options, where).timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.done()) return Promise.resolve();
    const settled = this.then(noop, noop);
    if (timeout === Number.POSITIVE_INFINITY) return settled;
    return new Promise<void>((resolve, reject) => {
      const cancel = longTimeout(
        () => reject(new TimeoutError(`${where} gave up after ${timeout} ms; the task goes on`)),
        timeout,
      );
      void settled.then(() => {
        cancel();
        resolve();
      });
    });
  }

  #call(fn: (f: Future<T>) => void): void {
    try {
      fn(this);
    } catch (e) {
      const text = e instanceof Error ? (e.stack ?? String(e)) : inspect(e);
      process.stderr.write(`exception calling callback for ${inspect(this)}\n${text}\n`);
    }
  }

  #settle(state: State): void {
    this.#state = state;
    this.#control = undefined;
    if (this.#ok) this.#resolve(this.#value);
    else {
      // Handled from here on: a failure nobody observes is no unhandled rejection (Python).
      this.then(undefined, noop);
      this.#reject(state === 'cancelled' ? new CancelledError('the future was cancelled') : this.#error);
    }
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const fn of callbacks) this.#call(fn);
  }

  /** @internal Whether it finished by raising (for `wait`'s FIRST_EXCEPTION). */
  _failed(): boolean {
    return this.#state === 'finished' && !this.#ok;
  }

  /** @internal The engine: its thread has begun it. */
  _running(): void {
    if (this.#state === 'pending') this.#state = 'running';
  }

  /** @internal The engine: it returned `value`. */
  _resolve(value: T): void {
    if (this.done()) return;
    this.#ok = true;
    this.#value = value;
    this.#settle('finished');
  }

  /** @internal The engine: it threw (or its thread died, or it timed out). */
  _reject(error: unknown): void {
    if (this.done()) return;
    this.#error = error;
    this.#settle('finished');
  }

  /** @internal The engine: it was cancelled. */
  _cancelled(): void {
    if (this.done()) return;
    this.#settle('cancelled');
  }

  [inspect.custom](): string {
    const state = this.running() ? 'running' : this.#state;
    if (state !== 'finished') return `<Future state=${state}>`;
    if (this.#ok) return `<Future state=finished returned ${describe(this.#value).split(' (')[0]}>`;
    const e = this.#error as { name?: unknown } | null;
    return `<Future state=finished raised ${typeof e?.name === 'string' ? e.name : describe(e)}>`;
  }
}
Object.defineProperty(Future.prototype, BRAND, { value: true });
// `await future`, `Promise.resolve(future)` and `Promise.all` take a Promise as is only if its
// `constructor` is `Promise` itself: a Future passes for one (see the file's comment).
Object.defineProperty(Future.prototype, 'constructor', { value: Promise, writable: true, configurable: true });
Object.defineProperty(Future.prototype, UNSHAREABLE, { value: 'a Future object' });
