/**
 * Shared buffers by number, for values that travel as bytes in shared memory (queue items):
 * bytes cannot hold a SharedArrayBuffer, so the sender registers each with the supervisor under
 * a process-wide id, and the receiver gets it back by id. Every primitive's state is such a
 * buffer, so a lock inside a queue item arrives as the same lock.
 *
 * - `holdSabs` (sender): one reference per id, kept by the supervisor until `dropSabs`.
 * - `resolveSabs` (receiver): from this thread's cache, else fetched synchronously from the
 *   supervisor: post `fetch`, sleep on this thread's reply word, read the answer with
 *   `receiveMessageOnPort`. The supervisor never blocks, so the answer comes even while every
 *   other thread is blocked.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import { collectGarbage } from '../shared/gc.js';
import { H_SAB_SEQ, replyIndex, runtime } from '../shared/runtime.js';
import { supervisorPort } from '../shared/supervisor-client.js';

const rt = runtime();
/** How long a fetch waits for ids whose `hold` may still be in flight before it gives up. */
const FETCH_TIMEOUT_MS = 30_000;
const byId = new Map<number, WeakRef<SharedArrayBuffer>>();
const idOf = new WeakMap<SharedArrayBuffer, number>();
const forget = new FinalizationRegistry<number>((id) => {
  if (byId.get(id)?.deref() === undefined) byId.delete(id);
});

/**
 * Bytes this thread had the supervisor hold for queues, less those it dropped, since its last
 * collection. A queue dropped with items in it lets its buffers go only from a finalizer, which
 * runs after a full collection of this thread's heap; V8 starts one when its heap grows, but
 * these buffers are outside it, so a loop that drops queues with items pinned gigabytes. Past
 * `PRESSURE_BYTES` of growth, a collection is asked for (once per step of that size: the cost of
 * collecting a small heap, against that much memory allocated).
 */
let pressure = 0;
const PRESSURE_BYTES = 128 << 20;
let collecting = false;

function addPressure(bytes: number): void {
  pressure += bytes;
  if (pressure < PRESSURE_BYTES || collecting) return;
  collecting = true;
  // After the current call (a put), when the finalizers it lets run can be called too.
  setImmediate(() => {
    collecting = false;
    pressure = 0;
    collectGarbage();
  });
}

/**
 * Registers buffers with the supervisor, one reference each; returns their ids. `owner` (a
 * queue's uid) groups references so that `releaseOwner` can drop whatever is left of them when
 * the owner is gone.
 */
export function holdSabs(sabs: readonly SharedArrayBuffer[], owner = 0): number[] {
  if (sabs.length === 0) return [];
  const port = supervisorPort();
  return sabs.map((sab) => {
    let id = idOf.get(sab);
    if (id === undefined) {
      id = Atomics.add(rt.i32, H_SAB_SEQ, 1) + 1;
      idOf.set(sab, id);
      byId.set(id, new WeakRef(sab));
      forget.register(sab, id);
    }
    port.postMessage({ op: 'hold', id, sab, owner });
    if (owner !== 0) addPressure(sab.byteLength);
    return id;
  });
}

/** Releases one reference for each id (of the same `owner` as the hold). */
export function dropSabs(ids: readonly number[], owner = 0): void {
  if (ids.length === 0) return;
  supervisorPort().postMessage({ op: 'drop', ids, owner });
  if (owner !== 0) for (const id of ids) pressure -= byId.get(id)?.deref()?.byteLength ?? 0;
}

/** Releases every reference `owner` still has (a queue dropped with items in it). */
export function releaseOwner(owner: number): void {
  supervisorPort().postMessage({ op: 'release', owner });
}

/** The buffers for these ids, fetching the ones this thread has not seen from the supervisor. */
export function resolveSabs(ids: readonly number[]): SharedArrayBuffer[] {
  const out: (SharedArrayBuffer | undefined)[] = ids.map((id) => byId.get(id)?.deref());
  const missing = ids.filter((_, k) => out[k] === undefined);
  if (missing.length > 0) {
    const port = supervisorPort();
    const reply = replyIndex(rt.ident);
    Atomics.store(rt.i32, reply, 0);
    port.postMessage({ op: 'fetch', ids: missing, reply });
    let answer: { message: { sabs: SharedArrayBuffer[] } } | undefined;
    const deadline = performance.now() + FETCH_TIMEOUT_MS;
    for (;;) {
      answer = receiveMessageOnPort(port) as typeof answer;
      if (answer !== undefined) break;
      if (performance.now() > deadline) {
        throw new Error(
          `threadkit: shared buffers ${missing.join(', ')} were never registered (a value decoded without its sender's holdSabs)`,
        );
      }
      Atomics.wait(rt.i32, reply, 0, 1000);
      Atomics.store(rt.i32, reply, 0);
    }
    let j = 0;
    for (let k = 0; k < out.length; k++) {
      if (out[k] !== undefined) continue;
      const sab = answer.message.sabs[j++] as SharedArrayBuffer;
      const id = ids[k] as number;
      byId.set(id, new WeakRef(sab));
      idOf.set(sab, id);
      forget.register(sab, id);
      out[k] = sab;
    }
  }
  return out as SharedArrayBuffer[];
}
