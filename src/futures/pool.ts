/**
 * `ThreadPool` (also `ThreadPoolExecutor`): Python's `concurrent.futures.ThreadPoolExecutor` on
 * real threads. This facade validates and delegates; the engine (`pool/engine.ts`) schedules.
 */
import { availableParallelism } from 'node:os';
import { inspect } from 'node:util';
import { argRangeError, argTypeError, QueueFull, ThreadError, TimeoutError } from '../errors.js';
import { longTimeout } from '../shared/clock.js';
import { countOf, describe, optionsOf, signalOf, timeoutOf } from '../shared/validate.js';
import { Engine, type EngineOptions } from '../pool/engine.js';
import { encode } from '../wire/codec.js';
import { UNSHAREABLE } from '../wire/kinds.js';
import type { Transferable } from '../wire/move.js';
import { describeTarget, task, type TargetDescriptor, type TaskRef } from '../wire/target.js';
import type { Future } from './future.js';

export interface ThreadPoolOptions {
  /** The most threads (default `os.availableParallelism()`). */
  maxThreads?: number;
  /** Threads kept alive when idle (default 0). */
  minThreads?: number;
  /** Milliseconds an idle thread above `minThreads` lives (default 1000; `Infinity`: forever). */
  idleTimeout?: number;
  /** Tasks waiting beyond one per thread before `submit()`/`run()` throw `QueueFull` (default Infinity). */
  maxQueue?: number;
  /** Thread names are `${prefix}_${n}` (default `ThreadPoolExecutor-N`, N counting pools). */
  threadNamePrefix?: string;
  /** Runs once in each new thread, before its first task; if it throws, the pool breaks. */
  initializer?: ((...args: any[]) => unknown) | TaskRef;
  initArgs?: unknown[];
  /** Default per-task timeout (ms, counted from when the task starts). */
  taskTimeout?: number;
  resourceLimits?: import('node:worker_threads').ResourceLimits;
}

/** Options of `run`. */
export interface RunOptions<A extends unknown[]> {
  args?: A;
  /** ArrayBuffers (and MessagePorts) in `args` to move to the thread rather than copy. */
  transfer?: Transferable[];
  /** An abort before the task starts cancels it; while it runs, terminates its thread. Either way the future rejects with the reason. */
  signal?: AbortSignal;
  /** Milliseconds the task may run (from when it starts) before its thread is terminated: `TimeoutError`. */
  timeout?: number;
}

/** Options of `map`. */
export interface MapOptions {
  /** Items per task (default 1): fewer, bigger tasks for many tiny items. */
  chunksize?: number;
  /** Milliseconds for the whole iteration, from the call: then the iterator throws `TimeoutError`. */
  timeout?: number;
  /** Yield results in input order (default `true`), or as they complete. */
  ordered?: boolean;
  /** Tasks in flight at most (default twice `maxThreads`). */
  buffersize?: number;
}

type Awaited2<R> = R extends PromiseLike<infer U> ? U : R;

/** The typed proxy `module()` returns: each export function, called, submits a task. */
export type ModuleProxy<M> = {
  [K in keyof M]: M[K] extends (...a: infer A) => infer R ? (...a: A) => Future<Awaited2<R>> : never;
};

/** No buffers to move (one empty array for every task that moves none). */
const NO_TRANSFER: Transferable[] = Object.freeze([]) as unknown as Transferable[];

/**
 * A pool dropped without `shutdown()` lets its threads go (they would otherwise wait forever if
 * `minThreads` keeps them). Its tasks, if any, keep the engine alive until they finish.
 */
const abandoned = new FinalizationRegistry<Engine>((engine) => {
  void engine.shutdown(false, false);
});

function numberOption(value: unknown, name: string, min: number, allowInfinity: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (allowInfinity && value === Number.POSITIVE_INFINITY) return value as number;
  return countOf(value, name, min);
}

/**
 * A pool of threads that runs tasks: `submit(fn, ...args)` returns a `Future`. Threads start on
 * demand up to `maxThreads`, are reused while busy, and leave after `idleTimeout` ms idle. A task
 * is a self-contained function or `task(moduleUrl, exportName)`, as a thread's target.
 * Python: `concurrent.futures.ThreadPoolExecutor`.
 *
 * @example
 * await using pool = new ThreadPool();
 * const squares = await Promise.all([1, 2, 3].map((n) => pool.submit((x: number) => x * x, n)));
 */
export class ThreadPool {
  readonly #engine: Engine;

  constructor(options?: ThreadPoolOptions) {
    const o = optionsOf(options, 'ThreadPool');
    const maxThreads = numberOption(o.maxThreads, 'maxThreads', 1, false) ?? availableParallelism();
    const minThreads = numberOption(o.minThreads, 'minThreads', 0, false) ?? 0;
    if (minThreads > maxThreads) {
      throw argRangeError(`Expected \`minThreads\` (${minThreads}) to be at most \`maxThreads\` (${maxThreads})`);
    }
    if (o.threadNamePrefix !== undefined && typeof o.threadNamePrefix !== 'string') {
      throw argTypeError(`Expected \`threadNamePrefix\` to be a string, got ${describe(o.threadNamePrefix)}`);
    }
    if (o.initArgs !== undefined && !Array.isArray(o.initArgs)) {
      throw argTypeError(`Expected \`initArgs\` to be an array, got ${describe(o.initArgs)}`);
    }
    if (o.resourceLimits !== undefined && (typeof o.resourceLimits !== 'object' || o.resourceLimits === null)) {
      throw argTypeError(`Expected \`resourceLimits\` to be an object, got ${describe(o.resourceLimits)}`);
    }
    const initializer: TargetDescriptor | undefined =
      o.initializer === undefined ? undefined : describeTarget(o.initializer, 'the pool `initializer`');
    const settings: EngineOptions = {
      maxThreads,
      minThreads,
      // Infinity: never (the longest a thread's wait slice counts is ~24 days).
      idleTimeout: Math.min(timeoutOf(o.idleTimeout ?? 1000, 'idleTimeout'), 0x7fff_ffff),
      maxQueue: numberOption(o.maxQueue, 'maxQueue', 0, true) ?? Number.POSITIVE_INFINITY,
      threadNamePrefix: o.threadNamePrefix ?? '',
      initializer,
      initArgs: encode(o.initArgs ?? [], 'initArgs'),
      taskTimeout: timeoutOf(o.taskTimeout, 'taskTimeout'),
      resourceLimits: o.resourceLimits,
    };
    this.#engine = new Engine(settings);
    abandoned.register(this, this.#engine);
  }

  /** The most threads it runs. */
  get maxThreads(): number {
    return this.#engine.options.maxThreads;
  }

  #accept(where: string): void {
    if (this.#engine.shut) throw new ThreadError(`cannot schedule new futures after shutdown (${where})`);
    if (!this.#engine.hasRoom()) {
      throw new QueueFull(
        `${where}: ${this.#engine.outstanding} tasks are waiting or running, the most maxQueue (${this.#engine.options.maxQueue}) allows; await pool.waitForRoom() first`,
      );
    }
  }

  /** Runs `target(...args)` in a thread of the pool. Throws for bad arguments, `QueueFull`, after shutdown. */
  submit<A extends unknown[], R>(target: ((...args: A) => R) | TaskRef<A, R>, ...args: A): Future<Awaited<R>> {
    const d = describeTarget(target, 'the task `target`');
    this.#accept('ThreadPool.submit');
    return this.#engine.submit(d, args, NO_TRANSFER, this.#engine.options.taskTimeout, undefined, false) as Future<
      Awaited<R>
    >;
  }

  /** `submit` with options: `args`, `transfer`, `signal`, `timeout` (ms). */
  run<A extends unknown[], R>(
    target: ((...args: A) => R) | TaskRef<A, R>,
    options?: RunOptions<A>,
  ): Future<Awaited<R>> {
    const d = describeTarget(target, 'the task `target`');
    const o = optionsOf(options, 'ThreadPool.run');
    if (o.args !== undefined && !Array.isArray(o.args))
      throw argTypeError(`Expected \`args\` to be an array, got ${describe(o.args)}`);
    if (o.transfer !== undefined && !Array.isArray(o.transfer)) {
      throw argTypeError(`Expected \`transfer\` to be an array, got ${describe(o.transfer)}`);
    }
    const signal = signalOf(o.signal);
    const timeout = o.timeout === undefined ? this.#engine.options.taskTimeout : timeoutOf(o.timeout);
    this.#accept('ThreadPool.run');
    return this.#engine.submit(
      d,
      (o.args ?? []) as unknown[],
      o.transfer ?? NO_TRANSFER,
      timeout,
      signal,
      false,
    ) as Future<Awaited<R>>;
  }

  /**
   * Runs `target` on each item, lazily (an endless input works), at most `buffersize` tasks in
   * flight; yields the results in input order (or as they complete, `ordered: false`). The first
   * task that fails makes the iteration throw its error; `timeout` (ms, from the call) bounds the
   * whole iteration; leaving the loop early cancels the tasks not yet started.
   */
  map<T, R>(
    target: ((item: T) => R) | TaskRef<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    const d = describeTarget(target, 'the task `target`');
    const iterable = items as Partial<Iterable<T> & AsyncIterable<T>> | null;
    if (
      iterable === null ||
      (typeof iterable !== 'object' && typeof iterable !== 'string') ||
      (typeof iterable[Symbol.iterator] !== 'function' && typeof iterable[Symbol.asyncIterator] !== 'function')
    ) {
      throw argTypeError(`Expected \`items\` to be an iterable or async iterable, got ${describe(items)}`);
    }
    const o = optionsOf(options, 'ThreadPool.map');
    const chunksize = numberOption(o.chunksize, 'chunksize', 1, false) ?? 1;
    const buffersize = numberOption(o.buffersize, 'buffersize', 1, false) ?? 2 * this.#engine.options.maxThreads;
    const timeout = timeoutOf(o.timeout);
    if (o.ordered !== undefined && typeof o.ordered !== 'boolean') {
      throw argTypeError(`Expected \`ordered\` to be a boolean, got ${describe(o.ordered)}`);
    }
    if (this.#engine.shut) throw new ThreadError('cannot schedule new futures after shutdown (ThreadPool.map)');
    return mapTasks(this.#engine, d, items, {
      chunksize,
      buffersize,
      deadline: timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout,
      timeout,
      ordered: o.ordered ?? true,
      taskTimeout: this.#engine.options.taskTimeout,
    }) as AsyncIterableIterator<Awaited<R>>;
  }

  /**
   * A typed proxy of a module's exports: `pool.module<typeof import('./tasks.js')>(url).fib(30)`
   * submits `task(url, 'fib')` with those arguments and is a `Future<number>`.
   */
  module<M>(moduleUrl: string | URL): ModuleProxy<M> {
    task(moduleUrl); // validates the URL, at the call site
    return new Proxy(Object.create(null) as ModuleProxy<M>, {
      get: (_, name) => {
        // Not a thenable (awaiting the proxy must not call a remote `then`), nor anything symbolic.
        if (typeof name !== 'string' || name === 'then') return undefined;
        return (...args: unknown[]) => this.submit(task(moduleUrl, name), ...args);
      },
    });
  }

  /** Resolves when `submit()` would not throw `QueueFull` (at once without `maxQueue`). */
  waitForRoom(): Promise<void> {
    return this.#engine.waitForRoom();
  }

  /**
   * No new tasks (`submit` throws `ThreadError`). `cancelFutures: true` cancels those not begun;
   * `wait: true` (default) resolves once every task has finished and the threads have exited.
   */
  async shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void> {
    const o = optionsOf(options, 'ThreadPool.shutdown');
    for (const k of ['wait', 'cancelFutures'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'boolean')
        throw argTypeError(`Expected \`${k}\` to be a boolean, got ${describe(o[k])}`);
    }
    await this.#engine.shutdown(o.wait ?? true, o.cancelFutures ?? false);
  }

  /** `await using pool = new ThreadPool()`: `shutdown({ wait: true })` at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }

  [inspect.custom](): string {
    const e = this.#engine;
    const state = e.broken ? ' broken' : e.shut ? ' shutdown' : '';
    return `<ThreadPool ${e.prefix}${state} threads=${e.threadCount}/${e.options.maxThreads} outstanding=${e.outstanding}>`;
  }
}
Object.defineProperty(ThreadPool.prototype, UNSHAREABLE, { value: 'a ThreadPool object' });

interface MapPlan {
  chunksize: number;
  buffersize: number;
  deadline: number;
  timeout: number;
  ordered: boolean;
  taskTimeout: number;
}

/**
 * The iteration of `map`: pulls items lazily, keeps `buffersize` tasks in flight. The first
 * tasks are submitted at the call, as Python's `map` does, not at the first `next()`: they run
 * even if the iteration starts late (or never), and the `timeout`, which counts from the call,
 * bounds work that has begun rather than a race against tasks submitted after the deadline.
 *
 * The input is pulled by a pump that runs beside the iteration: a result that is ready is
 * yielded at once even while a slow async input keeps the pump waiting, and the deadline bounds
 * waiting for input as it bounds waiting for results. What the pump meets (the input threw, an
 * item cannot be sent, the pool was shut down) is thrown by the iteration once the results of
 * the items before it have been yielded.
 */
function mapTasks<T>(
  engine: Engine,
  target: TargetDescriptor,
  items: Iterable<T> | AsyncIterable<T>,
  plan: MapPlan,
): AsyncGenerator<unknown> {
  const sync = typeof (items as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] !== 'function';
  const source: Iterator<T> | AsyncIterator<T> = sync
    ? (items as Iterable<T>)[Symbol.iterator]()
    : (items as AsyncIterable<T>)[Symbol.asyncIterator]();
  const each = plan.chunksize > 1;
  /** In input order; with `ordered: false`, `ready` lists them as they complete. */
  const inFlight: Future<unknown>[] = [];
  const ready: Future<unknown>[] = [];
  /** Wakes the iteration: a task completed (`ordered: false`), or the pump made progress. */
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let exhausted = false;
  /** The iteration ended: the pump submits nothing more. */
  let closed = false;
  let pumping = false;
  let failure: { error: unknown } | undefined;

  // A sync input is pulled without an await, so that the first tasks are submitted within the
  // call itself (a `shutdown()` right after it still runs them, as Python's).
  const fill = async (): Promise<void> => {
    while (!exhausted && !closed && inFlight.length < plan.buffersize) {
      const chunk: T[] = [];
      while (chunk.length < plan.chunksize && !closed) {
        const r = sync ? (source as Iterator<T>).next() : await source.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        chunk.push(r.value);
      }
      if (chunk.length === 0 || closed) break;
      // Python's map raises too when it submits more after shutdown (with a buffersize).
      if (engine.shut) throw new ThreadError('cannot schedule new futures after shutdown (ThreadPool.map)');
      const f = engine.submit(target, each ? [chunk] : chunk, NO_TRANSFER, plan.taskTimeout, undefined, each);
      inFlight.push(f);
      if (!plan.ordered) {
        f.addDoneCallback(() => {
          ready.push(f);
          poke();
        });
      }
      poke();
    }
  };

  /** Starts pulling more input, unless a pull runs, the input ended or it failed. */
  const pump = (): void => {
    if (pumping || exhausted || closed || failure !== undefined) return;
    pumping = true;
    fill().then(
      () => {
        pumping = false;
        poke();
      },
      (error: unknown) => {
        pumping = false;
        exhausted = true;
        failure = { error };
        poke();
      },
    );
  };

  /** Awaits `p` until the iteration's deadline (then `TimeoutError`). */
  const beforeDeadline = async <V>(p: PromiseLike<V>): Promise<V> => {
    if (plan.deadline === Number.POSITIVE_INFINITY) return p;
    let cancel: (() => void) | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          const fail = () => reject(new TimeoutError(`ThreadPool.map did not finish within ${plan.timeout} ms`));
          cancel = longTimeout(fail, Math.max(0, plan.deadline - performance.now()));
        }),
      ]);
    } finally {
      cancel?.();
    }
  };

  /** Waits (within the deadline) for the next `poke()`. */
  const progress = (): Promise<void> => beforeDeadline(new Promise<void>((resolve) => (wake = resolve)));

  pump();
  return iterate();

  async function* iterate(): AsyncGenerator<unknown> {
    try {
      for (;;) {
        let f: Future<unknown>;
        if (plan.ordered) {
          if (inFlight.length === 0) {
            if (failure !== undefined) throw failure.error;
            if (exhausted && !pumping) return;
            await progress();
            continue;
          }
          f = inFlight[0] as Future<unknown>;
        } else {
          if (ready.length === 0) {
            if (inFlight.length === 0 && failure !== undefined) throw failure.error;
            if (inFlight.length === 0 && exhausted && !pumping) return;
            await progress();
            continue;
          }
          f = ready.shift() as Future<unknown>;
        }
        const value = await beforeDeadline(f);
        inFlight.splice(inFlight.indexOf(f), 1);
        pump();
        if (each) yield* value as unknown[];
        else yield value;
      }
    } finally {
      // Leaving early (a break, an error, a timeout): the tasks not begun are cancelled, and the
      // input is closed (not awaited while a pull of a slow input is still pending).
      closed = true;
      for (const f of inFlight) f.cancel();
      if (!exhausted) {
        const r = (source as AsyncIterator<T>).return?.();
        if (pumping) Promise.resolve(r).catch(() => {});
        else await r;
      }
    }
  }
}
