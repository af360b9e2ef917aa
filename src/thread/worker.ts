/**
 * The bootstrap every threadkit thread runs first. It joins the process runtime (the arena and
 * its ident, from `workerData`), runs the job, posts the outcome to the creator, and marks the
 * thread finished in the status table, which is what `join` waits for.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { EXITED, endThread, MAIN_IDENT, parentOf, runtime, State, statusOf } from '../shared/runtime.js';
import './kinds.js'; // every kind of shareable object must be revivable here
import { currentThread, localThreads } from './registry.js';
import { claimReport, defaultText, writeStderr } from './excepthook.js';
import { decode, type Encoded, encode, encodeThrown, uncloneableError } from '../wire/codec.js';
import { explainOuterReference, loadTarget, type TargetDescriptor, targetsLoaded } from '../wire/target.js';
import type { Transferable } from '../wire/move.js';
import type { Event } from '../sync/event.js';
import { runPreloads } from './preload.js';
import { buildSubclass } from './subclass.js';
import type { Job, ResultMessage } from './thread.js';

const rt = runtime();
rt.supervisorPort?.unref();
const { job, results: port } = (workerData as { __threadkit: { job: Job; results: MessagePort } }).__threadkit;

function args(e: Encoded): unknown[] {
  return decode(e.v, e.s) as unknown[];
}

async function callTarget(target: TargetDescriptor | undefined, a: unknown[]): Promise<unknown> {
  // Barriers among the arguments started loading their module actions when they were decoded:
  // let those finish, so that waitSync() in the target finds them ready.
  await targetsLoaded();
  if (target === undefined) return undefined;
  const fn = await loadTarget(target);
  return fn.apply(undefined, a);
}

/** A subclass's `run()`: its classes rebuilt on a base that looks like the thread. */
function buildInstance(j: Job): { run(): unknown } {
  class ThreadBase {
    get name(): string {
      return currentThread().name;
    }
    get ident(): number {
      return rt.ident;
    }
    get daemon(): boolean {
      return rt.daemon;
    }
    isAlive(): boolean {
      return true;
    }
    run(): unknown {
      return callTarget(j.target, args(j.args));
    }
  }
  return buildSubclass(j, ThreadBase, `${currentThread().name}.run`);
}

async function runJob(): Promise<unknown> {
  await runPreloads();
  switch (job.kind) {
    case 'target':
      return callTarget(job.target, args(job.args));
    case 'class':
      return buildInstance(job).run();
    case 'timer': {
      const cancel = decode(job.cancel?.v, job.cancel?.s ?? false) as Event;
      if (await cancel.wait({ timeout: job.interval })) return undefined;
      return callTarget(job.target, args(job.args));
    }
  }
}

function post(message: ResultMessage, transfer: Transferable[] = []): void {
  port.postMessage(message, transfer);
}

/**
 * Posts what the target threw; or, `unsent`, the error of a return value that could not be sent,
 * which is no exception of the target (the creator reports it to no excepthook).
 */
function postError(error: unknown, unsent = false): void {
  explainOuterReference(error);
  let e: Encoded;
  try {
    e = encodeThrown(error, 'error');
    structuredClone(e.v);
  } catch {
    e = { v: String(error), s: false };
  }
  if (unsent || job.quiet) {
    post({ t: 'result', ok: false, e, unsent });
    return;
  }
  const claim = new Int32Array(new SharedArrayBuffer(4));
  post({ t: 'result', ok: false, e, claim });
  reportIfOrphaned(error, claim);
}

/**
 * The creator reports an uncaught error (to its excepthook) when it reads the outcome just
 * posted, but a creator other than the main thread may never read it: it may be gone already
 * (its target returned, it was terminated or crashed: its children outlive it), or end before
 * its loop gets to the message (it is blocked, then returns). Then the default report is made
 * without it, synchronously (the main thread may be blocked too): here if the creator's Worker is
 * gone now, otherwise by the supervisor when it sees the creator's end of the results channel
 * close, which happens when the creator has read the outcome (`Thread.#onResult` closes it) or
 * died. `claim` settles who reports: the creator takes it when it reads the outcome.
 */
function reportIfOrphaned(error: unknown, claim: Int32Array): void {
  const creator = parentOf(rt.i32, rt.ident);
  if (creator === MAIN_IDENT) return; // the main thread lasts as long as the process
  const text = defaultText({ error, thread: { name: currentThread().name, ident: rt.ident } });
  if (creator === 0 || statusOf(rt.i32, creator) & EXITED) {
    if (claimReport(claim)) writeStderr(text);
    return;
  }
  try {
    rt.supervisorPort?.postMessage({ op: 'unclaimed', results: port, claim, text }, [port]);
  } catch {
    if (claimReport(claim)) writeStderr(text);
  }
}

/**
 * Runs the excepthook for the children that failed while this thread's target kept its loop
 * busy: once the target has returned, the thread's loop may end without reading their outcomes.
 */
function reportFailedChildren(): void {
  for (const ref of localThreads().values()) (ref.deref() as { _drain?(): void } | undefined)?._drain?.();
}

/** Posts the target's return value, moving the buffers of every `move()` found in it. */
function postResult(value: unknown): void {
  const transfer = new Set<Transferable>();
  let e: Encoded;
  try {
    e = encode(value, 'result', undefined, transfer);
  } catch (error) {
    postError(error, true);
    return;
  }
  try {
    post({ t: 'result', ok: true, v: e.v, s: e.s }, [...transfer]);
  } catch (cause) {
    postError(uncloneableError(e.v, 'result', cause), true);
  }
}

// The outcome is posted before the status changes: whoever sees the thread finished (join) can
// take the outcome at once from the results port. The creator marks the status too when the
// outcome arrives, so that whoever sees the outcome also sees the thread finished.
/**
 * The pools this thread created and did not shut down (`pool/engine.ts`, by weak reference in
 * the runtime's slots): shut down, waiting for their tasks, once the target has returned.
 */
async function shutDownPools(): Promise<void> {
  const pools = rt.slots.get('pools') as
    | Set<WeakRef<{ shutdown(wait: boolean, cancel: boolean): Promise<void> }>>
    | undefined;
  if (pools === undefined || pools.size === 0) return;
  await Promise.all([...pools].map((ref) => ref.deref()?.shutdown(true, false)));
}

async function main(): Promise<void> {
  let ok = false;
  let value: unknown;
  let error: unknown;
  try {
    value = await runJob();
    ok = true;
  } catch (e) {
    error = e;
  }
  await shutDownPools().catch(() => {});
  reportFailedChildren();
  // The target returned: a result that could not be sent does not make it a failed thread
  // (a Lock it holds stays locked, as after any normal return).
  if (ok) postResult(value);
  else postError(error);
  // Not after a stdout flush: a Worker's write completes only when its parent's event loop reads
  // it, and a creator blocked in joinSync() would then never see this thread finish. The main
  // thread's exit grace (keepalive.ts) lets the last output through instead.
  endThread(rt.i32, rt.ident, ok ? State.DoneOk : State.DoneError, false);
}

// Not top-level await: the CommonJS build of this file cannot have it.
void main();
