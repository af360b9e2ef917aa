/**
 * The supervisor's Worker (see `shared/supervisor-client.ts`). It never blocks: it only reacts
 * to port messages, closes and its Workers' events.
 *
 * Messages, on any thread's port:
 * - `{ op: 'watch', ident, port }`: a thread the main thread started; when `port` closes, it died.
 * - `{ op: 'start', ident, … }`: start thread `ident` on behalf of the sender (any thread but the
 *   main one): this thread becomes its Worker parent, so the sender's death does not end it.
 *   Its exit (code, and the error if it crashed) goes back on the request's `control` port.
 * - `{ op: 'terminate', ident }`: terminate a thread started here.
 * - `{ op: 'hold', id, sab, owner }`: one more reference to shared buffer `id`, on behalf of
 *   `owner` (a queue's uid, or 0).
 * - `{ op: 'drop', ids, owner }`: one reference fewer for each id.
 * - `{ op: 'release', owner }`: drop every reference `owner` still has (it is gone).
 * - `{ op: 'fetch', ids, reply }`: the sender is blocked on arena word `reply` until it receives
 *   `{ sabs }` on the same port. Ids not yet held (their `hold` may still be in flight on another
 *   port) are served as soon as they arrive.
 * - `{ op: 'unclaimed', results, claim, text }`: the sender's target threw, and its creator (not
 *   the main thread) may end without reading the outcome sent on `results`. When the creator's
 *   end of that channel closes (it read the outcome, or died), `text` is printed unless the
 *   creator took `claim` (see `worker.ts`).
 *
 * When a thread's port closes (it died, however), its status is marked, and what a `start()` it
 * did not finish left in the arena is swept (`sweepOrphans`).
 */
import { MessageChannel, type MessagePort, type Worker, workerData } from 'node:worker_threads';
import { entryUrl } from '../shared/entries.js';
import { collectGarbage } from '../shared/gc.js';
import { writeSync } from 'node:fs';
import { DeadlockWatch, formatThreadDump } from '../diagnostics/index.js';
import { endThread, H_EXIT_CODE, installRuntime, isRunning, State, sweepOrphans } from '../shared/runtime.js';
import { errorToRecord } from '../wire/errors.js';
import { claimReport, writeStderr } from './excepthook.js';
import { launchWorker } from './launch.js';
import type { LaunchRequest } from './thread.js';

type Message =
  | { op: 'watch'; ident: number; port: MessagePort }
  | ({ op: 'start' } & LaunchRequest)
  | { op: 'terminate'; ident: number }
  | { op: 'hold'; id: number; sab: SharedArrayBuffer; owner: number }
  | { op: 'drop'; ids: number[]; owner: number }
  | { op: 'release'; owner: number }
  | { op: 'fetch'; ids: number[]; reply: number }
  | { op: 'unclaimed'; results: MessagePort; claim: Int32Array; text: string };

const { arena, port: mainPort } = (
  workerData as { __threadkitSupervisor: { arena: SharedArrayBuffer; port: MessagePort } }
).__threadkitSupervisor;
const i32 = new Int32Array(arena);

const held = new Map<number, { sab: SharedArrayBuffer | undefined; refs: number }>();
/** The references each owner holds, by id (an owner 0 is not tracked). */
const owners = new Map<number, Map<number, number>>();
const waiting: { port: MessagePort; ids: number[]; reply: number }[] = [];
/** The Workers of the threads started here, by ident, until they exit. */
const workers = new Map<number, Worker>();

/**
 * How long after a thread's death its unfinished starts are swept. Messages it posted before it
 * died arrive before its port's 'close' (checked on Node 20); the delay is a margin, and a start
 * that still came later finds its thread swept and is dropped.
 */
const SWEEP_DELAY_MS = 20;

function serve(port: MessagePort, ids: number[], reply: number): boolean {
  const sabs: SharedArrayBuffer[] = [];
  for (const id of ids) {
    const h = held.get(id);
    if (h?.sab === undefined || h.refs <= 0) return false;
    sabs.push(h.sab);
  }
  port.postMessage({ sabs });
  Atomics.store(i32, reply, 1);
  Atomics.notify(i32, reply);
  return true;
}

/** What a crash looks like to the thread that started the crashed one. */
function describeCrash(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  return errorToRecord(e, (v) => {
    structuredClone(v);
    return v;
  });
}

/** Answers a `start`: the creator is blocked on its reply word until this arrives. */
function answer(m: LaunchRequest, crash?: unknown): void {
  m.control.postMessage({ t: 'launched', crash });
  Atomics.store(i32, m.reply, 1);
  Atomics.notify(i32, m.reply);
}

function start(m: LaunchRequest): void {
  // Swept already: the thread that asked died before its request came, and nobody waits for it.
  if (!isRunning(i32, m.ident)) {
    m.results.close();
    m.control.close();
    return;
  }
  const { port1, port2 } = new MessageChannel();
  const seed = { arena, ident: m.ident, daemon: m.daemon, name: m.name, supervisorPort: port2 };
  let worker: Worker;
  try {
    worker = launchWorker(entryUrl('worker'), {
      workerData: { __threadkit: { seed, job: m.job, results: m.results } },
      transferList: [port2, m.results, ...m.transfer],
      execArgv: m.execArgv,
      resourceLimits: m.resourceLimits,
    });
  } catch (e) {
    port1.close();
    endThread(i32, m.ident, State.Died, true);
    answer(m, describeCrash(e));
    m.control.close();
    return;
  }
  answer(m);
  workers.set(m.ident, worker);
  listen(port1, m.ident);
  let crash: unknown;
  worker.on('error', (e: unknown) => {
    crash = e;
  });
  worker.on('exit', (code: number) => {
    workers.delete(m.ident);
    endThread(i32, m.ident, State.Died, true);
    m.control.postMessage({ t: 'exit', code, crash: crash === undefined ? undefined : describeCrash(crash) });
    m.control.close();
  });
}

function drop(id: number, n: number): void {
  const h = held.get(id);
  if (h === undefined) held.set(id, { sab: undefined, refs: -n });
  else if ((h.refs -= n) === 0) {
    held.delete(id);
    reclaimSoon(h.sab?.byteLength ?? 0);
  }
}

/**
 * A buffer this thread no longer references is freed only when this thread's isolate collects
 * its object, and an isolate that allocates nothing (this one, mostly idle) may never collect:
 * a drained queue's chunks would stay in memory. So a garbage collection is asked for a little
 * after buffers were let go (sooner when they were big), with `shared/gc.ts`.
 */
let released = 0;
let reclaim: ReturnType<typeof setTimeout> | undefined;

function reclaimSoon(bytes: number): void {
  released += bytes;
  if (reclaim !== undefined) return;
  reclaim = setTimeout(
    () => {
      reclaim = undefined;
      released = 0;
      collectGarbage();
    },
    released >= 1 << 20 ? 50 : 1000,
  );
  reclaim.unref();
}

/** Keeps the per-owner tally that `release` needs. */
function count(owner: number | undefined, id: number, delta: number): void {
  if (!owner) return;
  let refs = owners.get(owner);
  if (refs === undefined) owners.set(owner, (refs = new Map()));
  const n = (refs.get(id) ?? 0) + delta;
  if (n === 0) refs.delete(id);
  else refs.set(id, n);
  if (refs.size === 0) owners.delete(owner);
}

function onMessage(port: MessagePort, m: Message): void {
  switch (m.op) {
    case 'watch':
      listen(m.port, m.ident);
      break;
    case 'start':
      start(m);
      break;
    case 'terminate':
      void workers.get(m.ident)?.terminate();
      break;
    case 'hold': {
      // A drop may overtake its hold (they travel on different ports): it leaves refs below 0,
      // which this hold brings back up.
      const h = held.get(m.id) ?? { sab: m.sab, refs: 0 };
      h.sab = m.sab;
      h.refs++;
      if (h.refs === 0) held.delete(m.id);
      else held.set(m.id, h);
      count(m.owner, m.id, 1);
      for (let k = waiting.length - 1; k >= 0; k--) {
        const w = waiting[k] as (typeof waiting)[number];
        if (serve(w.port, w.ids, w.reply)) waiting.splice(k, 1);
      }
      break;
    }
    case 'drop':
      for (const id of m.ids) {
        drop(id, 1);
        count(m.owner, id, -1);
      }
      break;
    case 'release': {
      const refs = owners.get(m.owner);
      owners.delete(m.owner);
      for (const [id, n] of refs ?? []) if (n > 0) drop(id, n);
      break;
    }
    case 'fetch':
      if (!serve(port, m.ids, m.reply)) waiting.push({ port, ids: m.ids, reply: m.reply });
      break;
    case 'unclaimed': {
      const { results, claim, text } = m;
      // Fires also when the creator's end closed before the port arrived here.
      results.on('close', () => {
        if (claimReport(claim)) writeStderr(text);
      });
      results.unref();
      break;
    }
  }
}

function listen(port: MessagePort, ident: number): void {
  port.on('message', (m: Message) => onMessage(port, m));
  port.on('close', () => {
    if (ident === 0) return;
    endThread(i32, ident, State.Died, true);
    setTimeout(() => sweepOrphans(i32, ident, (child) => workers.has(child)), SWEEP_DELAY_MS);
  });
}

listen(mainPort, 0);

// ---- the deadlock watchdog (THREADKIT_DEADLOCK=warn|abort) --------------------------------

/**
 * Here, where no blocked thread can stop it: reads the wait records every `WATCH_MS` and writes
 * each certain deadlock's report to stderr with a synchronous write (with the main thread
 * blocked, `console.error` from another thread would never appear). With `abort` it then ends
 * the process with exit code 3 through the main thread (blocked: it looks at `H_EXIT_CODE`;
 * idle: a message on its port), or by SIGKILL when the main thread does not answer.
 */
const WATCH_MS = 250;
const KILL_AFTER_MS = 2000;
const mode = process.env.THREADKIT_DEADLOCK;
if (mode === 'warn' || mode === 'abort') {
  installRuntime({ arena, ident: 0, daemon: true, name: 'threadkit-supervisor', supervisorPort: undefined });
  let ending = false;
  new DeadlockWatch(false).every(WATCH_MS, true, (found) => {
    if (ending) return;
    const report = `${found.map((d) => d.description).join('\n\n')}\n\n${formatThreadDump(found.flatMap((d) => d.threads))}`;
    writeSync(2, `threadkit: ${report}\n`);
    if (mode !== 'abort') return;
    ending = true;
    Atomics.store(i32, H_EXIT_CODE, 3);
    mainPort.postMessage({ op: 'exit', code: 3 });
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), KILL_AFTER_MS).unref();
  });
}
