/**
 * Diagnostics: what every thread is doing (`dumpThreads`, `formatThreadDump`: `jstack`'s thread
 * dump) and which of them wait on each other for ever (`findDeadlocks`, `watchDeadlocks`:
 * `ThreadMXBean.findDeadlockedThreads()`, Go's "all goroutines are asleep"). Everything here
 * reads shared memory only (the live table and the wait records, `shared/records.ts`), so it
 * works from any thread, and from the supervisor, while the others are blocked.
 *
 * A deadlock is (SPEC) (a) a cycle of threads each parked, with no timeout or signal, on a `Lock`
 * or `RLock` acquired by the next (a `Condition` re-acquiring its lock counts; threads outside
 * the cycle are ignored), or (b) every live thread, daemons included, and the main thread parked
 * in `…Sync` waits without a timeout. It is `certain` when every wait in it is a `…Sync` wait.
 *
 * No false positives: a candidate is reported only if it holds in two looks apart in time with
 * no waiter in it woken by a notify in between (a thread woken an instant ago may still show its
 * record), and each edge of a cycle was read by its waiter after the next thread had parked
 * (the owner a record names is what its waiter saw when it last woke: a parked thread cannot have
 * released anything since).
 */
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { H_LIVE_GEN, MAIN_IDENT, forEachLive, readName, runtime } from '../shared/runtime.js';
import {
  K_LOCK,
  K_RLOCK,
  KINDS,
  O_ACQUIRE,
  O_REACQUIRE,
  OPS,
  type RawRecord,
  readRow,
  SIGNAL,
  TIMED,
} from '../shared/records.js';
import { argRangeError, argTypeError } from '../errors.js';
import { argumentCheck, boolOf, describe, optionsOf } from '../shared/validate.js';

/** One wait of a thread. */
export interface WaitInfo {
  /** `'Lock'`, `'RLock'`, `'Condition'`, `'Semaphore'`, `'BoundedSemaphore'`, `'Event'`, `'Barrier'`, a queue kind, `'Thread'` (a join). */
  kind: string;
  /** The primitive's diagnostic number (`Lock#12`), or the joined thread's ident. */
  id: number;
  /** `'acquire'`, `'reacquire'` (a Condition taking its lock back), `'wait'`, `'get'`, `'put'`, `'join'`. */
  operation: string;
  form: 'sync' | 'promise';
  /** The thread that holds the lock, or the thread being joined. */
  owner?: { name: string; ident: number };
  /** Milliseconds since it parked. */
  sinceMs: number;
  /** Its timeout (ms), if it has one: what was left of it when the wait parked, a little after the call. */
  timeout?: number;
  /** Whether an AbortSignal can end it. */
  signal?: boolean;
  /** The waiter's stack when it parked (threadkit's own frames left out). */
  stack?: string;
  /** How it reads in a dump: `Lock#12 held by Thread-3`, `Queue#4 (get, empty)`. */
  description: string;
}

/** One live thread. */
export interface ThreadDump {
  name: string;
  ident: number;
  daemon: boolean;
  state: 'running' | 'waiting';
  /** Oldest first; at most 16 Promise-form waits and the `…Sync` one. */
  waits: WaitInfo[];
  /** Promise-form waits beyond those listed. */
  moreWaits: number;
  /** `waits[0]`. */
  waitingOn?: WaitInfo;
}

/** A deadlock found. */
export interface Deadlock {
  threads: ThreadDump[];
  /** Every wait in it is a `…Sync` wait (a Promise-form one might still be ended by its thread's event loop). */
  certain: boolean;
  description: string;
}

interface Sampled {
  dump: ThreadDump;
  raw: RawRecord[];
}

function nameOf(ident: number, names: Map<number, string>): string {
  return names.get(ident) ?? `ident ${ident}`;
}

function describeWait(r: RawRecord, names: Map<number, string>): string {
  const kind = KINDS[r.kind] ?? 'wait';
  if (kind === 'Thread') return `thread "${nameOf(r.id, names)}" (ident ${r.id})`;
  const name = `${kind}#${r.id}`;
  if (r.kind === K_LOCK || r.kind === K_RLOCK) {
    const held = r.owner === 0 ? 'free' : `held by ${nameOf(r.owner, names)}`;
    return `${name} ${held}${r.op === O_REACQUIRE ? ' (re-acquiring after a Condition wait)' : ''}`;
  }
  if (kind.endsWith('Queue')) {
    const op = OPS[r.op] ?? '';
    return `${name} (${op}, ${op === 'get' ? (r.detail === 0 ? 'empty' : `${r.detail} queued`) : `${r.detail} queued`})`;
  }
  if (kind === 'Barrier') return `${name} (${r.detail} waiting)`;
  return name;
}

/** How many waits a thread's entry lists (SPEC: "at most 16"). */
const LISTED = 16;

/**
 * The records an entry lists, oldest first, and the count of the rest: a thread has up to 16
 * Promise-form records and its `…Sync` one. Beyond 16 the newest Promise-form ones are counted
 * instead, never the `…Sync` one: it is the wait the thread is blocked in.
 */
function listed(records: RawRecord[], more: number): { records: RawRecord[]; more: number } {
  if (records.length <= LISTED) return { records, more };
  let drop = records.length - LISTED;
  const kept: RawRecord[] = [];
  for (let k = records.length - 1; k >= 0; k--) {
    const r = records[k] as RawRecord;
    if (drop > 0 && !r.sync) drop--;
    else kept.push(r);
  }
  return { records: kept.reverse(), more: more + records.length - LISTED };
}

/** One look at every live thread and its waits. */
function sample(): Sampled[] {
  const i32 = runtime().i32;
  const rows: { ident: number; daemon: boolean; row: number }[] = [];
  const names = new Map<number, string>();
  forEachLive(i32, (ident, daemon, row) => {
    rows.push({ ident, daemon, row });
    names.set(ident, readName(i32, row));
  });
  return rows.map(({ ident, daemon, row }) => {
    const { records: all, more: uncounted } = readRow(row);
    // Read after the records, not once before the rows: a reader descheduled between the two
    // would see a wait that began after its clock reading, with a negative age.
    const now = performance.timeOrigin + performance.now();
    all.sort((a, b) => a.since - b.since);
    const { records, more } = listed(all, uncounted);
    const waits = records.map((r): WaitInfo => {
      const w: WaitInfo = {
        kind: KINDS[r.kind] ?? 'unknown',
        id: r.id,
        operation: OPS[r.op] ?? 'wait',
        form: r.sync ? 'sync' : 'promise',
        sinceMs: Math.max(0, now - r.since),
        description: describeWait(r, names),
      };
      if (r.owner !== 0) w.owner = { name: nameOf(r.owner, names), ident: r.owner };
      // Counted from when it parked, a little after the call: rounded up, it reads as the caller's.
      if (r.flags & TIMED) w.timeout = Math.ceil(r.timeout);
      if (r.flags & SIGNAL) w.signal = true;
      if (r.stack) w.stack = r.stack;
      return w;
    });
    const dump: ThreadDump = {
      name: names.get(ident) as string,
      ident,
      daemon,
      state: waits.length > 0 || more > 0 ? 'waiting' : 'running',
      waits,
      moreWaits: more,
    };
    if (waits.length > 0) dump.waitingOn = waits[0];
    return { dump, raw: records };
  });
}

/**
 * Every live thread of the process, the main thread included: name, ident, daemon, whether it
 * waits and on what (oldest first), for how long, and the stack it waits at. Works from any
 * thread, while the others are blocked.
 */
export function dumpThreads(): ThreadDump[] {
  return sample().map((s) => s.dump);
}

function formatWait(w: WaitInfo): string {
  const seconds = (w.sinceMs / 1000).toFixed(w.sinceMs < 10_000 ? 2 : 0);
  const bounds = [
    w.form,
    ...(w.timeout !== undefined ? [`timeout ${w.timeout} ms`] : []),
    ...(w.signal ? ['abortable'] : []),
  ];
  const head = `   - ${w.operation === 'join' ? 'joining' : `${w.operation} on`} ${w.description} (${bounds.join(', ')}) for ${seconds} s`;
  const stack = (w.stack ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `        ${l.trim()}`)
    .join('\n');
  return stack ? `${head}\n${stack}` : head;
}

function formatThread(t: ThreadDump): string {
  const head = `"${t.name}" ident=${t.ident}${t.daemon ? ' daemon' : ''} ${t.state}`;
  const lines = [head, ...t.waits.map(formatWait)];
  if (t.moreWaits > 0) lines.push(`   - and ${t.moreWaits} more Promise-form waits`);
  return lines.join('\n');
}

/** `dump` (default: `dumpThreads()` now) as text, in the manner of `jstack`. */
export function formatThreadDump(dump?: ThreadDump[]): string {
  if (dump !== undefined && !Array.isArray(dump))
    throw argTypeError(`Expected \`dump\` to be an array, got ${describe(dump)}`);
  const threads = dump ?? dumpThreads();
  const when = new Date().toISOString();
  return `threadkit thread dump ${when}, ${threads.length} thread${threads.length === 1 ? '' : 's'}:\n\n${threads.map(formatThread).join('\n\n')}\n`;
}

// ---- deadlocks ----------------------------------------------------------------------------

interface Candidate {
  /** Identifies it across looks: the threads and, per thread, when its waits began. */
  key: string;
  threads: Sampled[];
  certain: boolean;
  description: string;
  /** Notifies received by its waits, at this look. */
  wakes: number[];
}

/** Whether a record is a wait that could be part of a deadlock (no timeout, no signal). */
function endless(r: RawRecord): boolean {
  return (r.flags & (TIMED | SIGNAL)) === 0;
}

function isLockWait(r: RawRecord): boolean {
  return (r.kind === K_LOCK || r.kind === K_RLOCK) && (r.op === O_ACQUIRE || r.op === O_REACQUIRE) && endless(r);
}

/** The deadlocks one look at the records shows (not yet confirmed by a second look). */
/** One look for deadlocks: every live thread's records, and the live-thread generation before them. */
interface Look {
  threads: Sampled[];
  gen: number;
}

function lookNow(): Look {
  // Read first: a thread that starts or ends while the rows are read makes it stale.
  const gen = Atomics.load(runtime().i32, H_LIVE_GEN);
  return { threads: sample(), gen };
}

/**
 * Whether a set of sync waits is asleep for good, as far as the records can tell: every waiter
 * looked around (refreshed its record, every `REFRESH_MS` at least) after every other one had
 * parked, and no thread has started or ended since. Two looks agreeing is not enough: a waiter
 * that another thread notified just before parking or ending, but that has not run since (a
 * busy machine), still shows its old record, unchanged, look after look.
 */
function settled(waits: RawRecord[], gen: number): boolean {
  return waits.every((w, k) => w.gen === gen && waits.every((other, j) => j === k || other.since < w.refreshed));
}

function candidates({ threads, gen }: Look): Candidate[] {
  const byIdent = new Map(threads.map((s) => [s.dump.ident, s]));
  const out: Candidate[] = [];
  const seen = new Set<string>();
  // (a) Cycles of lock waits. An edge W → O: W waits, with no end, for a lock O held when W last
  // looked, and O was already parked (on anything endless) when W looked.
  const edges = new Map<number, { to: number; rec: RawRecord }[]>();
  for (const s of threads) {
    for (const r of s.raw) {
      if (!isLockWait(r) || r.owner === s.dump.ident) continue;
      const o = byIdent.get(r.owner);
      if (o === undefined) continue;
      const parkedBefore = o.raw.some((x) => endless(x) && x.since < r.refreshed);
      if (!parkedBefore) continue;
      let list = edges.get(s.dump.ident);
      if (list === undefined) edges.set(s.dump.ident, (list = []));
      list.push({ to: r.owner, rec: r });
    }
  }
  const path: { ident: number; rec: RawRecord }[] = [];
  const onPath = new Set<number>();
  let budget = 10_000;
  const found = (cycle: { ident: number; rec: RawRecord }[]): void => {
    // The same cycle is met from each of its threads: one key for all its rotations.
    const canonical = [...cycle].sort((a, b) => a.ident - b.ident);
    const key = `cycle:${canonical.map((p) => `${p.ident}@${p.rec.since}`).join(',')}`;
    if (seen.has(key)) return;
    seen.add(key);
    const lines = cycle.map((p) => {
      const t = byIdent.get(p.ident) as Sampled;
      const w = t.dump.waits.find((x) => x.id === p.rec.id && x.kind === KINDS[p.rec.kind]);
      return `  "${t.dump.name}" waits for ${w?.description ?? 'a lock'} (${p.rec.sync ? 'sync' : 'promise'})`;
    });
    const certain = cycle.every((p) => p.rec.sync);
    out.push({
      key,
      threads: cycle.map((p) => byIdent.get(p.ident) as Sampled),
      certain,
      description: `Found one threadkit deadlock${certain ? '' : ' (not certain: a Promise-form wait is part of it)'}:\n${lines.join('\n')}`,
      wakes: canonical.map((p) => p.rec.wakes),
    });
  };
  const visit = (ident: number): void => {
    if (--budget < 0) return;
    onPath.add(ident);
    for (const e of edges.get(ident) ?? []) {
      path.push({ ident, rec: e.rec });
      if (onPath.has(e.to)) found(path.slice(path.findIndex((p) => p.ident === e.to)));
      else if (edges.has(e.to)) visit(e.to);
      path.pop();
    }
    onPath.delete(ident);
  };
  for (const ident of edges.keys()) visit(ident);
  // (b) Every live thread, the main one included, parked in a …Sync wait with no end.
  const all = threads.length > 0 && threads.some((s) => s.dump.ident === MAIN_IDENT);
  if (all && threads.every((s) => s.raw.some((r) => r.sync && endless(r)))) {
    const waits = threads.map((s) => s.raw.find((r) => r.sync) as RawRecord);
    if (!settled(waits, gen)) return out;
    const lines = threads.map(
      (s) => `  "${s.dump.name}" waits for ${s.dump.waits.find((w) => w.form === 'sync')?.description}`,
    );
    out.push({
      key: `all:${threads.map((s, k) => `${s.dump.ident}@${waits[k]?.since}`).join(',')}`,
      threads,
      certain: true,
      description: `All threads are asleep - deadlock!\n${lines.join('\n')}`,
      wakes: waits.map((r) => r.wakes),
    });
  }
  return out;
}

/** The candidates of two looks that are the same deadlock, with no waiter in it notified in between. */
function confirmed(before: Candidate[], after: Candidate[]): Candidate[] {
  const earlier = new Map(before.map((c) => [c.key, c]));
  return after.filter((c) => {
    const e = earlier.get(c.key);
    return e?.wakes.every((w, k) => w === c.wakes[k]) === true;
  });
}

function toDeadlock(c: Candidate): Deadlock {
  return { threads: c.threads.map((s) => s.dump), certain: c.certain, description: c.description };
}

/**
 * How long `findDeadlocks` waits between its two looks (ms); also how soon a watch looks again
 * when a look found candidates, rather than a whole interval later.
 */
export const CONFIRM_MS = 20;

/**
 * The deadlocks of the process now (`[]` when there is none). Takes two looks `CONFIRM_MS` apart
 * (blocking this thread that long) so as never to report a wait that is just ending.
 */
export function findDeadlocks(): Deadlock[] {
  const first = candidates(lookNow());
  if (first.length === 0) return [];
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, CONFIRM_MS);
  return confirmed(first, candidates(lookNow())).map(toDeadlock);
}

/** @internal The watchdog's step, shared with the supervisor: new confirmed deadlocks since the last look. */
export class DeadlockWatch {
  #previous: Candidate[] = [];
  readonly #reported = new Set<string>();

  constructor(readonly includeUncertain: boolean) {}

  look(): Deadlock[] {
    const now = candidates(lookNow());
    const found = confirmed(this.#previous, now).filter((c) => this.#wanted(c));
    this.#previous = now;
    for (const c of found) this.#reported.add(c.key);
    return found.map(toDeadlock);
  }

  /** Whether the last look saw a deadlock not yet confirmed (look again in `CONFIRM_MS`). */
  get unconfirmed(): boolean {
    return this.#previous.some((c) => this.#wanted(c));
  }

  #wanted(c: Candidate): boolean {
    return (this.includeUncertain || c.certain) && !this.#reported.has(c.key);
  }

  /**
   * Looks every `intervalMs` (and at once if `now`), and again `CONFIRM_MS` after a look that saw
   * a new candidate: a deadlock is reported within about one interval of its records, not two.
   * Timers unref'd.
   */
  every(intervalMs: number, now: boolean, report: (found: Deadlock[]) => void): () => void {
    let confirm: ReturnType<typeof setTimeout> | undefined;
    const tick = (): void => {
      confirm = undefined;
      const found = this.look();
      if (found.length > 0) report(found);
      if (this.unconfirmed && confirm === undefined) {
        confirm = setTimeout(tick, CONFIRM_MS);
        confirm.unref();
      }
    };
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    if (now) {
      confirm = setTimeout(tick, 0);
      confirm.unref();
    }
    return () => {
      clearInterval(timer);
      clearTimeout(confirm);
    };
  }
}

/**
 * Looks for deadlocks every `intervalMs` (default 250) and calls `onDeadlock` once per deadlock
 * (default: writes the report to stderr); only certain ones unless `all: true`. Runs in this
 * thread (a thread blocked in a sync wait runs no callback: for a watchdog that never stops, set
 * `THREADKIT_DEADLOCK=warn` or `=abort`). Does not keep the process alive. Returns `{ stop() }`.
 *
 * Throws `TypeError` for an option of the wrong type, `RangeError` for an `intervalMs` that is
 * not a positive number of milliseconds a timer can take (at most 2**31 - 1).
 */
export function watchDeadlocks(options?: {
  intervalMs?: number;
  onDeadlock?: (deadlocks: Deadlock[]) => void;
  all?: boolean;
}): { stop(): void } {
  const o = optionsOf(options, 'watchDeadlocks');
  const intervalMs: unknown = o.intervalMs === undefined ? 250 : o.intervalMs;
  if (typeof intervalMs !== 'number') {
    throw argTypeError(argumentCheck('intervalMs', 'a number of milliseconds', o.intervalMs));
  }
  // Node clamps a longer delay to 1 ms, with a warning: a typo would turn into a busy watch.
  if (!(intervalMs > 0 && intervalMs <= 0x7fff_ffff)) {
    throw argRangeError(
      argumentCheck('intervalMs', 'a positive number of milliseconds, at most 2**31 - 1', intervalMs),
    );
  }
  const onDeadlock: unknown = o.onDeadlock === undefined ? writeReport : o.onDeadlock;
  if (typeof onDeadlock !== 'function') {
    throw argTypeError(argumentCheck('onDeadlock', 'a function', o.onDeadlock));
  }
  const all = boolOf(o.all, 'all', false);
  const stop = new DeadlockWatch(all).every(intervalMs, false, onDeadlock as (deadlocks: Deadlock[]) => void);
  return { stop };
}

/**
 * The default `onDeadlock`: the reports on stderr, synchronously. Not `process.stderr.write`: in
 * a Worker that hands the text to the main thread's event loop to print, and a deadlock report is
 * most needed exactly when the main thread is blocked (it would show only once it is not).
 */
function writeReport(deadlocks: Deadlock[]): void {
  writeSync(2, `${deadlocks.map((d) => d.description).join('\n\n')}\n`);
}

// ---- a thread dump on a signal (THREADKIT_DUMP_SIGNAL=SIGUSR2) ------------------------------

/**
 * Opt-in, like the JVM's `kill -3`: `THREADKIT_DUMP_SIGNAL=SIGUSR2` (any catchable signal's name)
 * makes the main thread write `formatThreadDump()` to stderr when the process gets that signal.
 * Synchronously (`writeSync`): the handler may run while other threads are blocked. It runs on
 * the main thread's event loop, so not while the main thread is itself blocked in a `…Sync` wait
 * (nor busy in a long computation); the `THREADKIT_DEADLOCK` watchdog does not need it.
 */
function installDumpSignal(name: string): void {
  if (!(name in constants.signals)) {
    process.emitWarning(`THREADKIT_DUMP_SIGNAL=${name}: not a signal name (e.g. SIGUSR2); no dump on a signal`, {
      code: 'THREADKIT_DUMP_SIGNAL',
    });
    return;
  }
  try {
    process.on(name as NodeJS.Signals, () => {
      writeSync(2, formatThreadDump());
    });
  } catch (e) {
    process.emitWarning(`THREADKIT_DUMP_SIGNAL=${name}: cannot listen for it (${String(e)})`, {
      code: 'THREADKIT_DUMP_SIGNAL',
    });
  }
}

// Once per process, however many copies of the package are loaded (ESM and CommonJS builds).
const DUMP_SIGNAL_KEY = Symbol.for('threadkit.dumpSignal');
const dumpSignal = process.env.THREADKIT_DUMP_SIGNAL;
if (isMainThread && dumpSignal && !(globalThis as Record<symbol, unknown>)[DUMP_SIGNAL_KEY]) {
  (globalThis as Record<symbol, unknown>)[DUMP_SIGNAL_KEY] = true;
  installDumpSignal(dumpSignal);
}
