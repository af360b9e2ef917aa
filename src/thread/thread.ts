/**
 * `Thread`: Python's `threading.Thread` on a real OS thread (a `worker_threads` Worker).
 *
 * Life of a thread, and who writes what:
 * 1. `start()` (creating thread) takes an ident and a live row in the arena (status Running),
 *    asks the supervisor to watch it, and starts a Worker running `worker.ts` with the target,
 *    the encoded arguments and a seed of the runtime.
 * 2. The Worker runs the target, posts the outcome (value or error) to the creator, then sets its
 *    status to DoneOk/DoneError: `join` returns and the thread leaves `enumerate()`.
 * 3. However it dies (return, crash, `process.exit`, `terminate()`, out of memory) the supervisor
 *    sees its port close and marks it; the creator's `'exit'` event does the same when its loop
 *    runs, and settles `result()` with `ThreadExitError` if no outcome came.
 */
import { inspect } from 'node:util';
import {
  MessageChannel,
  type MessagePort,
  type ResourceLimits,
  receiveMessageOnPort,
  type Worker,
} from 'node:worker_threads';
import { argTypeError, ThreadError, ThreadExitError, TimeoutError } from '../errors.js';
import { entryUrl } from '../shared/entries.js';
import { longTimeout } from '../shared/clock.js';
import { hold, unhold } from '../shared/keepalive.js';
import {
  allocateIdent,
  endThread,
  H_NAME_SEQ,
  isRunning,
  liveRowOf,
  MAIN_IDENT,
  NAME_CAP,
  replyIndex,
  readName,
  runtime,
  State,
  writeName,
} from '../shared/runtime.js';
import { supervisorPort, watchThread } from '../shared/supervisor-client.js';
import { boolOf, describe, optionsOf, timeoutOf } from '../shared/validate.js';
import { type Encoded, decode, encode, findUncloneable, uncloneableError } from '../wire/codec.js';
import { type ErrorRecord, recordToError } from '../wire/errors.js';
import { UNSHAREABLE } from '../wire/kinds.js';
import type { Transferable } from '../wire/move.js';
import { describeTarget, loadTarget, type TargetDescriptor, type TaskRef } from '../wire/target.js';
import { claimReport, reportUncaught } from './excepthook.js';
import { type ClassDescription, describeSubclass } from './subclass.js';
import { EXIT_GRACE_MS, watchNonDaemonThreads } from './keepalive.js';
import { launchWorker, workerExecArgv } from './launch.js';
import { joinIdent, joinIdentSync, localThreads, type ThreadLike } from './registry.js';

const rt = runtime();
const i32 = rt.i32;

/** A thread's target: a self-contained function, or a module export named by `task()`. */
export type Target<A extends unknown[] = any[], R = unknown> =
  | ((...args: A) => R | Promise<R>)
  | TaskRef<A, R | Promise<R>>;

export interface ThreadOptions<R = unknown> {
  /** What the thread runs: a self-contained function, or `task(moduleUrl, exportName)`. */
  target?: ((...args: any[]) => R | Promise<R>) | TaskRef<any[], R | Promise<R>>;
  /** Arguments for the target (cloned; primitives and SharedArrayBuffers arrive shared). */
  args?: unknown[];
  /** Default (also for `''`) `Thread-N`, or `Thread-N (targetName)`; N counts across the process from 1. */
  name?: string;
  /** Default: the daemon flag of the creating thread (main: false). */
  daemon?: boolean;
  /** Objects in `args` to move rather than copy (ArrayBuffers, MessagePorts…). */
  transfer?: Transferable[];
  resourceLimits?: ResourceLimits;
}

/**
 * What the supervisor needs to start a thread on behalf of a thread other than the main one
 * (`supervisor.ts`): the seed's facts, the job, the creator's ends of the results channel (the
 * outcome goes straight from the new thread to its creator) and of the control channel (its exit
 * comes back from the supervisor), and what the creator would have started its Worker with.
 */
export interface LaunchRequest {
  ident: number;
  /** The arena word the creator sleeps on until the supervisor has answered. */
  reply: number;
  daemon: boolean;
  name: string;
  job: Job;
  results: MessagePort;
  control: MessagePort;
  transfer: Transferable[];
  execArgv: string[];
  resourceLimits: ResourceLimits | undefined;
}

/**
 * What the creator hears from the supervisor about a thread it started there: first `launched`
 * (its Worker exists; with `crash` if it could not be started), later its `exit`.
 */
type ControlMessage = { t: 'launched'; crash?: unknown } | { t: 'exit'; code: number; crash: unknown };

/** What the Worker receives (see `worker.ts`). */
export interface Job {
  kind: 'target' | 'class' | 'timer';
  target?: TargetDescriptor;
  args: Encoded;
  /** For subclasses: the classes from the most derived up, their static data and own fields. */
  levels?: ClassDescription['levels'];
  statics?: ClassDescription['statics'];
  fields?: ClassDescription['fields'];
  /** For Timer: the interval (ms) and the Event that `cancel()` sets. */
  interval?: number;
  cancel?: Encoded;
  /** The thread's owner reports its failures (`_unreported`): no excepthook, no fallback report. */
  quiet?: boolean;
}

/** Whether `new Worker` failed because a value could not be cloned or transferred. */
function isCloneFailure(e: unknown): boolean {
  const err = e as { name?: string; code?: string };
  return err?.name === 'DataCloneError' || /TRANSFER|CLONE/.test(String(err?.code ?? ''));
}

/** A crash the supervisor described (`supervisor.ts`), as an error again. */
function reviveCrash(crash: unknown): unknown {
  const r = crash as Partial<ErrorRecord> | null;
  if (typeof r !== 'object' || r === null || typeof r.c !== 'string' || typeof r.m !== 'string') return crash;
  return recordToError(r as ErrorRecord, (v) => v);
}

/** The creator's view of a thread's outcome. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A message from the Worker. */
export type ResultMessage =
  | { t: 'result'; ok: true; v: unknown; s: boolean }
  | { t: 'result'; ok: false; e: ErrorRecord | Encoded; unsent?: boolean; claim?: Int32Array };

const THREAD_BASE = Symbol.for('threadkit.Thread.base');

/**
 * A thread of control on its own OS thread. Give it a `target`, or subclass it and override
 * `run()`; then `start()` it. Python: `threading.Thread`.
 *
 * @example
 * const t = new Thread({ target: (n: number) => n * 2, args: [21] });
 * t.start();
 * console.log(await t.result()); // 42
 */
export class Thread<R = unknown> implements ThreadLike {
  #target: TargetDescriptor | undefined;
  #args: Encoded;
  #transfer: Transferable[];
  #resourceLimits: ResourceLimits | undefined;
  #name: string;
  #daemon: boolean;
  #ident: number | undefined;
  #started = false;
  #worker: Worker | undefined;
  #outcome: Outcome | undefined;
  #crash: unknown;
  #results: MessagePort | undefined;
  #exited = false;
  #rawTarget: ThreadOptions['target'];
  #rawArgs: unknown[];
  #waiters: ((o: Outcome) => void)[] = [];
  /** `terminate()` calls waiting for the Worker to be gone. */
  #exitWaiters: (() => void)[] = [];
  /** Its crashes go to no excepthook (`_unreported`). */
  #unreported = false;

  constructor(options?: ThreadOptions<R>) {
    const o = optionsOf(options, 'Thread');
    if (o.target !== undefined) this.#target = describeTarget(o.target, 'the thread `target`');
    if (o.args !== undefined && !Array.isArray(o.args)) {
      throw argTypeError(`Expected \`args\` to be an array, got ${describe(o.args)}`);
    }
    if (o.transfer !== undefined && !Array.isArray(o.transfer)) {
      throw argTypeError(`Expected \`transfer\` to be an array, got ${describe(o.transfer)}`);
    }
    if (o.name !== undefined && typeof o.name !== 'string') {
      throw argTypeError(`Expected \`name\` to be a string, got ${describe(o.name)}`);
    }
    if (o.resourceLimits !== undefined && (typeof o.resourceLimits !== 'object' || o.resourceLimits === null)) {
      throw argTypeError(`Expected \`resourceLimits\` to be an object, got ${describe(o.resourceLimits)}`);
    }
    this.#rawTarget = o.target;
    this.#rawArgs = o.args ?? [];
    this.#args = encode(this.#rawArgs, 'args');
    this.#transfer = o.transfer ?? [];
    this.#resourceLimits = o.resourceLimits;
    const targetName = this.#target?.kind === 'module' ? this.#target.name : this.#target?.name;
    if (o.name !== undefined && o.name !== '') this.#name = o.name;
    else {
      // As Python: only unnamed threads take a number, counted across the whole process; an
      // empty name counts as none (Python tests `if name:`).
      const n = Atomics.add(i32, H_NAME_SEQ, 1) + 1;
      this.#name = targetName ? `Thread-${n} (${targetName})` : `Thread-${n}`;
    }
    this.#daemon = boolOf(o.daemon, 'daemon', rt.daemon);
  }

  get name(): string {
    // A running thread may have been renamed by itself or another thread: the live row tells.
    const row = this.#ident === undefined ? -1 : liveRowOf(i32, this.#ident);
    if (row >= 0) {
      const shared = readName(i32, row);
      if (!(shared.length === NAME_CAP && this.#name.startsWith(shared))) this.#name = shared;
    }
    return this.#name;
  }

  set name(value: string) {
    if (typeof value !== 'string') throw argTypeError(`Expected \`name\` to be a string, got ${describe(value)}`);
    this.#name = value;
    if (this.#ident !== undefined) {
      const row = liveRowOf(i32, this.#ident);
      if (row >= 0) writeName(i32, row, value);
    }
  }

  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.#started) throw new ThreadError('cannot set daemon status of active thread');
    this.#daemon = boolOf(value, 'daemon', false);
  }

  /** A number unique among live threads; `undefined` until started. */
  get ident(): number | undefined {
    return this.#ident;
  }

  /**
   * What the thread runs. Override it in a subclass: its methods are shipped by source and
   * `run()` is called in the new thread on a copy of the instance's own fields. Static members
   * travel too (data cloned, methods by source: `this.constructor.x` works); `#private` fields
   * are not carried but start from their initializers (see `subclass.ts`). Called directly, the
   * default runs the target in the calling thread.
   */
  run(): unknown {
    const t = this.#rawTarget;
    if (t === undefined) return undefined;
    if (typeof t === 'function') return t(...this.#rawArgs);
    return Promise.resolve(loadTarget(this.#target as TargetDescriptor)).then((fn) => fn(...this.#rawArgs));
  }

  /** Starts the thread. `ThreadError` if called twice. */
  start(): void {
    if (this.#started) throw new ThreadError('threads can only be started once');
    const job = this._job();
    if (this.#unreported) job.quiet = true;
    watchNonDaemonThreads();
    const results = new MessageChannel();
    const ident = allocateIdent(i32, this.#name, this.#daemon, rt.ident);
    try {
      // The main thread starts its threads' Workers itself (its death is the process's); every
      // other thread asks the supervisor, so that its own death ends no thread it started.
      if (rt.ident === MAIN_IDENT) this.#launchHere(ident, job, results.port2);
      else this.#launchInSupervisor(ident, job, results.port2);
    } catch (e) {
      results.port1.close();
      endThread(i32, ident, State.Died, true);
      throw e;
    }
    this.#started = true;
    this.#ident = ident;
    this.#results = results.port1;
    localThreads().set(ident, new WeakRef(this));
    // The outcome comes on a port of its own, so that join()/joinSync() can take it synchronously
    // (receiveMessageOnPort) the moment the thread is seen finished: when join returns, result()
    // is settled and the excepthook has run, as in Python.
    results.port1.on('message', (m: ResultMessage) => this.#onResult(m));
    results.port1.unref();
  }

  #launchHere(ident: number, job: Job, results: MessagePort): void {
    const port = watchThread(ident);
    const seed = { arena: rt.arena, ident, daemon: this.#daemon, name: this.#name, supervisorPort: port };
    let worker: Worker;
    try {
      worker = launchWorker(entryUrl('worker'), {
        workerData: { __threadkit: { seed, job, results } },
        transferList: [port, results, ...this.#transfer],
        execArgv: workerExecArgv(),
        resourceLimits: this.#resourceLimits,
      });
    } catch (cause) {
      port.close();
      throw isCloneFailure(cause) ? this.#cloneError(job, cause) : cause;
    }
    this.#worker = worker;
    // Listeners first: adding a listener after unref() would ref the Worker again.
    worker.on('error', (e: unknown) => {
      this.#crash = e;
    });
    worker.on('exit', (code: number) => this.#onExit(code));
    // What keeps the process alive is the live table (keepalive.ts), plus a running non-daemon
    // thread's Worker so that its last output is flushed.
    if (this.#daemon) worker.unref();
  }

  #launchInSupervisor(ident: number, job: Job, results: MessagePort): void {
    const control = new MessageChannel();
    const reply = replyIndex(rt.ident);
    const request: LaunchRequest = {
      ident,
      reply,
      daemon: this.#daemon,
      name: this.#name,
      job,
      results,
      control: control.port2,
      transfer: this.#transfer,
      // Explicit: the supervisor's own execArgv is empty (it runs no loader).
      execArgv: workerExecArgv() ?? [...process.execArgv],
      resourceLimits: this.#resourceLimits,
    };
    Atomics.store(i32, reply, 0);
    try {
      supervisorPort().postMessage({ op: 'start', ...request }, [results, control.port2, ...this.#transfer]);
    } catch (cause) {
      control.port1.close();
      throw isCloneFailure(cause) ? this.#cloneError(job, cause) : cause;
    }
    // As Python's start() returns once the thread exists: wait for the supervisor to have made
    // the Worker. This paces a thread that starts threads in a loop to what the process can
    // create, and a Worker that cannot be created fails here, at the call site.
    const launched = this.#awaitLaunch(control.port1, reply);
    if (launched.crash !== undefined) {
      control.port1.close();
      throw reviveCrash(launched.crash);
    }
    control.port1.on('message', (m: ControlMessage) => {
      if (m.t !== 'exit') return;
      control.port1.close();
      if (m.crash !== undefined) this.#crash = reviveCrash(m.crash);
      this.#onExit(m.code);
    });
    // The thread is not this thread's Worker: nothing here keeps this thread alive for it.
    control.port1.unref();
  }

  /** Blocks until the supervisor says whether it started the Worker (the supervisor never blocks). */
  #awaitLaunch(port: MessagePort, reply: number): { crash?: unknown } {
    for (;;) {
      const m = receiveMessageOnPort(port)?.message as ControlMessage | undefined;
      if (m?.t === 'launched') return m;
      Atomics.wait(i32, reply, 0, 1000);
      Atomics.store(i32, reply, 0);
    }
  }

  /**
   * @internal Its crashes are reported by its owner, not the excepthook: a pool thread's death
   * reaches the future of the task it ran (Python's pools print nothing either). The owner
   * cannot instead keep a `result()` pending, which would keep the process alive.
   */
  _unreported(): void {
    this.#unreported = true;
  }

  /**
   * @internal Resolves when the thread's Worker has exited, however. Unlike `join()`, a pending
   * call holds nothing alive (a pool watches its daemon threads with it).
   */
  _exited(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    return new Promise((resolve) => this.#exitWaiters.push(resolve));
  }

  /**
   * @internal Takes the outcome if it has been posted but not yet delivered: the thread's target
   * is about to return, and its loop may end before it would have read it (`worker.ts`).
   */
  _drain(): void {
    this.#drainResult();
  }

  /** Takes the outcome if it has been posted but not yet delivered (join calls it). */
  #drainResult(): void {
    if (this.#outcome !== undefined || this.#results === undefined) return;
    const m = receiveMessageOnPort(this.#results);
    if (m !== undefined) this.#onResult(m.message as ResultMessage);
  }

  /** The TypeError for a job that `new Worker` could not clone, naming where the culprit sits. */
  #cloneError(job: Job, cause: unknown): TypeError {
    if (findUncloneable(job.args.v, 'args') !== undefined) return uncloneableError(job.args.v, 'args', cause);
    if (job.fields !== undefined && findUncloneable(job.fields.v, 'this') !== undefined) {
      return uncloneableError(job.fields.v, 'this', cause);
    }
    return uncloneableError(this.#transfer, 'transfer', cause);
  }

  /** @internal What the Worker runs; `Timer` overrides it. */
  _job(): Job {
    if (this.run === Thread.prototype.run) {
      return { kind: 'target', target: this.#target, args: this.#args };
    }
    return { kind: 'class', target: this.#target, args: this.#args, ...describeSubclass(this, THREAD_BASE) };
  }

  #onResult(m: ResultMessage): void {
    if (this.#outcome !== undefined) return;
    const ident = this.#ident as number;
    // The thread marks itself finished right after posting; mark it here too, so whoever sees the
    // outcome also sees the thread finished.
    endThread(i32, ident, m.ok || m.unsent ? State.DoneOk : State.DoneError, false);
    this.#results?.close();
    this.#results = undefined;
    const worker = this.#worker;
    if (worker !== undefined && !this.#daemon) {
      // The target is done: its Worker no longer keeps the process alive (it may linger, e.g.
      // for timers the target left behind). A grace period lets its last output through first.
      setTimeout(() => worker.unref(), EXIT_GRACE_MS).unref();
    }
    if (m.ok) {
      this.#settle({ ok: true, value: decode(m.v, m.s, this.#name) });
    } else {
      const e = m.e as Encoded;
      // A return value that could not be sent is not an exception of the target: Python discards
      // return values, so only a result() that asks for it learns of it. An exception is this
      // thread's to report unless the failed thread or the supervisor already did (`worker.ts`).
      const mine = claimReport(m.claim);
      this.#settle({ ok: false, error: decode(e.v, e.s, this.#name) }, !m.unsent && mine);
    }
  }

  #onExit(code: number): void {
    if (this.#exited) return;
    this.#exited = true;
    for (const w of this.#exitWaiters.splice(0)) w();
    const ident = this.#ident as number;
    this.#drainResult();
    endThread(i32, ident, State.Died, true);
    localThreads().delete(ident);
    this.#results?.close();
    this.#results = undefined;
    if (this.#outcome !== undefined) {
      if (this.#crash !== undefined && !this.#unreported) reportUncaught({ error: this.#crash, thread: this });
      return;
    }
    const crash = this.#crash;
    const why = crash instanceof Error ? `: ${crash.message}` : '';
    const error = new ThreadExitError(
      `Thread ${this.#name} exited with code ${code} before its target finished${why}`,
      crash === undefined ? { exitCode: code } : { exitCode: code, cause: crash },
    );
    // process.exit() and terminate() end a thread silently, as SystemExit does in Python; a crash
    // (an error outside the target, out of memory) is reported.
    this.#settle({ ok: false, error }, crash !== undefined);
  }

  #settle(outcome: Outcome, report = false): void {
    this.#outcome = outcome;
    const waiters = this.#waiters;
    this.#waiters = [];
    if (report && !this.#unreported && waiters.length === 0 && !outcome.ok) {
      reportUncaught({ error: (this.#crash as Error | undefined) ?? outcome.error, thread: this });
    }
    for (const w of waiters) w(outcome);
  }

  /**
   * Waits until the target has finished, or the timeout (ms) passed (check `isAlive()` to tell).
   * Never rejects for the target's error. `signal` aborts the wait (not the thread).
   */
  join(options?: { timeout?: number; signal?: AbortSignal }): Promise<void> {
    if (!this.#started) return Promise.reject(new ThreadError('cannot join thread before it is started'));
    return joinIdent(this.#ident as number, options, 'Thread.join').then(() => {
      if (!this.isAlive()) this.#drainResult();
    });
  }

  /** Blocking twin of `join`. */
  joinSync(options?: { timeout?: number }): void {
    if (!this.#started) throw new ThreadError('cannot join thread before it is started');
    joinIdentSync(this.#ident as number, options, 'Thread.joinSync');
    if (!this.isAlive()) this.#drainResult();
  }

  /** True from `start()` until the target has finished. */
  isAlive(): boolean {
    return this.#started && isRunning(i32, this.#ident as number);
  }

  /**
   * The target's return value; rejects with the target's error, with `ThreadExitError` if the
   * thread exited, crashed or was terminated first, or with `TimeoutError` after `timeout` ms
   * (the thread keeps running).
   */
  result(options?: { timeout?: number }): Promise<R> {
    let timeout: number;
    try {
      timeout = timeoutOf(optionsOf(options, 'Thread.result').timeout);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.#started)
      return Promise.reject(new ThreadError('cannot get the result of a thread before it is started'));
    const unwrap = (o: Outcome): R => {
      if (o.ok) return o.value as R;
      throw o.error;
    };
    if (this.#outcome !== undefined) {
      const o = this.#outcome;
      return new Promise<R>((resolve) => resolve(unwrap(o)));
    }
    return new Promise<R>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const waiter = (o: Outcome): void => {
        cancelTimer?.();
        unhold();
        try {
          resolve(unwrap(o));
        } catch (e) {
          reject(e);
        }
      };
      hold();
      this.#waiters.push(waiter);
      if (timeout !== Number.POSITIVE_INFINITY) {
        cancelTimer = longTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          unhold();
          reject(new TimeoutError(`Thread ${this.#name} did not finish within ${timeout} ms`));
        }, timeout);
      }
    });
  }

  /**
   * Kills the thread now, even in an endless loop or an `Atomics` wait (not inside a blocking
   * native call). Its `result()` rejects with `ThreadExitError`. Resolves once it has stopped.
   */
  async terminate(): Promise<void> {
    if (!this.#started) throw new ThreadError('cannot terminate thread before it is started');
    if (this.#exited) return;
    // The Worker may be unreferenced (a daemon, or a thread whose target finished): without a
    // handle, the process could exit with this promise pending.
    hold();
    try {
      const worker = this.#worker;
      if (worker !== undefined) await worker.terminate();
      else {
        const gone = new Promise<void>((resolve) => this.#exitWaiters.push(resolve));
        supervisorPort().postMessage({ op: 'terminate', ident: this.#ident });
        await gone;
      }
    } finally {
      unhold();
    }
    endThread(i32, this.#ident as number, State.Died, true);
  }

  [inspect.custom](): string {
    const state = !this.#started ? 'initial' : this.isAlive() ? 'started' : 'stopped';
    return `<Thread ${this.#name}${this.#ident === undefined ? '' : ` ident=${this.#ident}`}${this.#daemon ? ' daemon' : ''} ${state}>`;
  }
}
Object.defineProperty(Thread.prototype, THREAD_BASE, { value: true });
Object.defineProperty(Thread.prototype, UNSHAREABLE, { value: 'a Thread object' });
