/**
 * The bootstrap every threadkit thread runs first. It joins the process runtime (the arena and
 * its ident, from `workerData`), runs the job, posts the outcome to the creator, and marks the
 * thread finished in the status table, which is what `join` waits for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { endThread, runtime, State } from '../shared/runtime.js';
import '../index.js'; // every kind of primitive must be revivable here
import { currentThread } from './registry.js';
import { decode, type Encoded, encode, uncloneableError } from '../wire/codec.js';
import { compileSource, explainOuterReference, loadTarget, type TargetDescriptor } from '../wire/target.js';
import { type Transferable, unwrapMoved } from '../wire/move.js';
import type { Event } from '../sync/event.js';
import { runPreloads } from './preload.js';
import type { Job, ResultMessage } from './thread.js';

const rt = runtime();
rt.supervisorPort?.unref();
const job = (workerData as { __threadkit: { job: Job } }).__threadkit.job;
const port = parentPort as NonNullable<typeof parentPort>;

function args(e: Encoded): unknown[] {
  return decode(e.v, e.s) as unknown[];
}

async function callTarget(target: TargetDescriptor | undefined, a: unknown[]): Promise<unknown> {
  if (target === undefined) return undefined;
  const fn = await loadTarget(target);
  return fn.apply(undefined, a);
}

/** A subclass's `run()`: its methods compiled onto a base that looks like the thread. */
function buildInstance(j: Job): { run(): unknown } {
  const base = {
    get name(): string {
      return currentThread().name;
    },
    get ident(): number {
      return rt.ident;
    },
    get daemon(): boolean {
      return rt.daemon;
    },
    isAlive(): boolean {
      return true;
    },
    run(): unknown {
      return callTarget(j.target, args(j.args));
    },
  };
  let proto: object = base;
  const levels = j.levels ?? [];
  for (let k = levels.length - 1; k >= 0; k--) {
    const methods = levels[k] as string[];
    const make = compileSource(
      `function (__proto__) { return { __proto__, ${methods.join(',\n')} }; }`,
      `${currentThread().name}.run`,
    ) as (p: object) => object;
    proto = make(proto);
  }
  const self = Object.create(proto) as { run(): unknown };
  Object.assign(self, decode(j.fields?.v, j.fields?.s ?? false));
  return self;
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

function postError(error: unknown): void {
  explainOuterReference(error);
  let e: Encoded;
  try {
    e = encode(error, 'error');
    structuredClone(e.v);
  } catch {
    e = { v: String(error), s: false };
  }
  post({ t: 'result', ok: false, e });
}

// The status changes before the outcome is posted: a creator that sees the outcome also sees
// the thread finished (not alive, not in enumerate()).
async function main(): Promise<void> {
  try {
    const { value, transfer } = unwrapMoved(await runJob());
    let e: Encoded | undefined;
    try {
      e = encode(value, 'result');
    } catch (error) {
      endThread(rt.i32, rt.ident, State.DoneError, false);
      postError(error);
    }
    if (e !== undefined) {
      endThread(rt.i32, rt.ident, State.DoneOk, false);
      try {
        post({ t: 'result', ok: true, v: e.v, s: e.s }, transfer);
      } catch (cause) {
        postError(uncloneableError(e.v, 'result', cause));
      }
    }
  } catch (error) {
    endThread(rt.i32, rt.ident, State.DoneError, false);
    postError(error);
  }
}

// Not top-level await: the CommonJS build of this file cannot have it.
void main();
