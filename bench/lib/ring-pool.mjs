/**
 * The raw floor of the pool scenarios: the least a shared-memory pool can do for `x => x + 1`.
 * Raw Workers (`fixtures/ring-worker.mjs`), each fed through two SharedArrayBuffer rings, one
 * Promise per task, no futures, no serializer (the task is a float64 in a slot).
 *
 * Per worker, `hdr` (Int32, each word on its own 64-byte line so the two writers never share one):
 * - `REQ_HEAD` (0): requests published, a wrapping count. Written by the main thread only.
 * - `RESP_HEAD` (16): responses published, a wrapping count. Written by the worker only.
 * - `SLEEPING` (32): 1 while the worker parks (or is about to park) on `REQ_HEAD`; set and cleared
 *   by the worker, cleared by the main thread when it decides to notify.
 * `req` and `resp` (Float64, `CAP` slots, power of two): request `i` sits in `req[i & MASK]` and
 * its result in `resp[i & MASK]`; a worker answers in order, so the i-th response of a worker is
 * the i-th task sent to it and the main thread keeps its resolvers in a FIFO of the same shape.
 * The main thread never has more than `CAP` tasks outstanding on a worker, so neither ring can
 * overflow and nobody waits for room; the rest wait in a main-thread FIFO (as a pool's queue).
 *
 * Shared by every worker, `bell` (Int32): `DOORBELL` (0) counts rings of the bell; `MAIN_WAITING`
 * (16) is 1 while the main thread is about to sleep on `DOORBELL` with `Atomics.waitAsync`. A
 * worker that publishes a result and finds `MAIN_WAITING` set exchanges it to 0, bumps the bell
 * and notifies: one wake-up per sleep of the main thread, however many results follow.
 */
import { Worker } from 'node:worker_threads';

const REQ_HEAD = 0;
const RESP_HEAD = 16;
const SLEEPING = 32;
const DOORBELL = 0;
const MAIN_WAITING = 16;

/** Slots per ring. */
const CAP = 1024;
const MASK = CAP - 1;
/**
 * Loads of the request head a worker makes before it parks: about 10-15 µs on this machine (13 ns a load), the
 * "brief spin before sleeping" of issue 7.
 */
const SPIN = 1000;

const WORKER_URL = new URL('../fixtures/ring-worker.mjs', import.meta.url);

export class RingPool {
  #bell = new Int32Array(new SharedArrayBuffer(64 * 2));
  #workers = [];
  /** Tasks waiting for room in a ring: parallel arrays, consumed from `#waitingAt`. */
  #waitingX = [];
  #waitingResolve = [];
  #waitingAt = 0;
  #outstanding = 0;
  #pumping = false;

  constructor(threads = 2) {
    for (let k = 0; k < threads; k++) {
      const hdr = new Int32Array(new SharedArrayBuffer(64 * 3));
      const req = new Float64Array(new SharedArrayBuffer(8 * CAP));
      const resp = new Float64Array(new SharedArrayBuffer(8 * CAP));
      const worker = new Worker(WORKER_URL, { workerData: { hdr, bell: this.#bell, req, resp, spin: SPIN } });
      // Only the main thread's copies: `head` = requests sent, `tail` = responses consumed.
      this.#workers.push({ worker, hdr, req, resp, head: 0, tail: 0, resolvers: new Array(CAP) });
    }
  }

  /** Runs x + 1 on a worker; resolves with the result. */
  run(x) {
    return new Promise((resolve) => {
      this.#outstanding++;
      // The less loaded worker; with two, they alternate when both keep up.
      let w = this.#workers[0];
      for (let k = 1; k < this.#workers.length; k++) {
        const v = this.#workers[k];
        if (v.head - v.tail < w.head - w.tail) w = v;
      }
      if (w.head - w.tail < CAP && this.#waitingAt === this.#waitingX.length) {
        this.#place(w, x, resolve);
        this.#publish(w);
      } else {
        this.#waitingX.push(x);
        this.#waitingResolve.push(resolve);
      }
      if (!this.#pumping) {
        this.#pumping = true;
        this.#pump();
      }
    });
  }

  #place(w, x, resolve) {
    const slot = w.head & MASK;
    w.req[slot] = x;
    w.resolvers[slot] = resolve;
    w.head = (w.head + 1) | 0;
  }

  /** Makes the requests placed so far visible, and wakes the worker if it sleeps. */
  #publish(w) {
    Atomics.store(w.hdr, REQ_HEAD, w.head);
    if (Atomics.load(w.hdr, SLEEPING) !== 0 && Atomics.exchange(w.hdr, SLEEPING, 0) !== 0) {
      Atomics.notify(w.hdr, REQ_HEAD);
    }
  }

  /** Resolves every published result, refills the rings from the waiting FIFO; returns how many. */
  #drain() {
    let got = 0;
    for (const w of this.#workers) {
      const head = Atomics.load(w.hdr, RESP_HEAD);
      if (head === w.tail) continue;
      while (w.tail !== head) {
        const slot = w.tail & MASK;
        const resolve = w.resolvers[slot];
        w.resolvers[slot] = undefined;
        resolve(w.resp[slot]);
        w.tail = (w.tail + 1) | 0;
        got++;
      }
      let placed = false;
      while (w.head - w.tail < CAP && this.#waitingAt < this.#waitingX.length) {
        this.#place(w, this.#waitingX[this.#waitingAt], this.#waitingResolve[this.#waitingAt]);
        this.#waitingResolve[this.#waitingAt] = undefined;
        this.#waitingAt++;
        placed = true;
      }
      if (placed) this.#publish(w);
    }
    if (this.#waitingAt === this.#waitingX.length && this.#waitingAt > 0) {
      this.#waitingX = [];
      this.#waitingResolve = [];
      this.#waitingAt = 0;
    }
    this.#outstanding -= got;
    return got;
  }

  #ready() {
    return this.#workers.some((w) => Atomics.load(w.hdr, RESP_HEAD) !== w.tail);
  }

  /**
   * The one loop that drains results on the main thread, while tasks are outstanding. Between
   * batches it yields a microtask (so the resolved tasks' continuations run); when nothing is
   * ready it sleeps on the bell. The Workers themselves keep the process alive meanwhile (a
   * pending `Atomics.waitAsync` does not: nodejs/node#44729).
   */
  async #pump() {
    for (;;) {
      if (this.#drain() > 0) {
        await null;
        continue;
      }
      if (this.#outstanding === 0) {
        this.#pumping = false;
        return;
      }
      // Announce the sleep, read the bell, then re-check the rings: a result published before a
      // worker could see MAIN_WAITING is caught by the re-check, one after it rings the bell,
      // and waitAsync returns at once if the bell moved since we read it.
      Atomics.store(this.#bell, MAIN_WAITING, 1);
      const seen = Atomics.load(this.#bell, DOORBELL);
      if (this.#ready()) {
        Atomics.store(this.#bell, MAIN_WAITING, 0);
        continue;
      }
      const r = Atomics.waitAsync(this.#bell, DOORBELL, seen);
      if (r.async) await r.value;
    }
  }

  async destroy() {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
