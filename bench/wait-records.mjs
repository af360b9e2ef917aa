/**
 * Issue 9: what a wait record costs. A blocking wait that stays parked 5 ms is recorded (what it
 * waits for, its stack) so that dumpThreads() and findDeadlocks() can see it; a shorter one is not.
 *
 * - The recording itself, on threadkit's internals (a tsx child, `fixtures/record-cost.ts`):
 *   openRecord + closeRecord, and the two stack costs: `new Error()` (what every Promise-form
 *   wait that parks pays up front, recorded or not) and formatting it (what a recorded wait pays).
 *   Only in a clone: it needs src/ and tsx, which an installed package has not (the package ships
 *   dist/, and tsx is a devDependency); there the table is left out, with a note that says why.
 * - End to end, on the built package: a thread blocked in `Event.waitSync()` is woken by the main
 *   thread after 2 ms (never recorded) or after 10 ms (recorded at 5 ms); the wake-up latency
 *   (from `set()` to the waiter running again, on the clock all threads share), next to a bare
 *   `Atomics.wait` woken after the same delays (a longer sleep wakes slower by itself), shows what
 *   the record adds on the way out (its update and removal). The same for `await event.wait()`.
 * - The watchdog (`THREADKIT_DEADLOCK=warn`) in an idle program: CPU time per second, with and
 *   without it (`fixtures/idle-child.mjs`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Event, Thread } from 'threadkit';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Why the recording table cannot be measured here, or undefined when it can: its child runs
 * threadkit's sources (its internals are not exported) under tsx.
 */
function recordingUnavailable() {
  const missing = [];
  if (!existsSync(new URL('../src/shared/records.ts', import.meta.url))) missing.push('threadkit’s src/');
  try {
    // What the child's `--import tsx` finds: resolved from the package root, as the child runs there.
    import.meta.resolve('tsx');
  } catch {
    missing.push('tsx');
  }
  if (missing.length === 0) return undefined;
  return (
    `the table “Recording a wait” (threadkit internals) is skipped: it needs ${missing.join(' and ')}, ` +
    'which an installed package does not have; run it from a clone of threadkit (npm ci, then npm run bench -- --only wait-records)'
  );
}

function recordCost(opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/fixtures/record-cost.ts', String(opts.quick ? 150 : 500)],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`record-cost exited ${code}`)),
    );
  });
}

/**
 * Wake-up latencies (µs) of `n` waits, each ended by the main thread after `delayMs`: `kind`
 * 'raw' (a bare `Atomics.wait` on a word: the machine's own cost of a longer sleep), 'sync'
 * (`Event.waitSync()`) or 'promise' (`await Event.wait()`).
 */
async function wakeLatencies(kind, delayMs, n) {
  const ev = new Event();
  const words = new Int32Array(new SharedArrayBuffer(8)); // [raw wake word, ack]
  const at = new Float64Array(new SharedArrayBuffer(8 * (n + 1)));
  const t = new Thread({
    name: 'bench-waiter',
    target: async (ev, words, at, n, kind) => {
      const clock = () => performance.timeOrigin + performance.now();
      for (let k = 0; k < n; k++) {
        if (kind === 'raw') {
          while (Atomics.load(words, 0) === 0) Atomics.wait(words, 0, 0, 60_000);
          Atomics.store(words, 0, 0);
        } else if (kind === 'sync') ev.waitSync({ timeout: 60_000 });
        else await ev.wait({ timeout: 60_000 });
        at[k] = clock() - at[n]; // at[n]: when the main thread woke it
        ev.clear();
        Atomics.store(words, 1, 1);
        Atomics.notify(words, 1);
      }
    },
    args: [ev, words, at, n, kind],
  });
  t.start();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let k = 0; k < n; k++) {
    // The waiter is parked by now (it answered, and waits again); sleep, then wake it.
    Atomics.wait(sleeper, 0, 0, delayMs);
    at[n] = performance.timeOrigin + performance.now();
    if (kind === 'raw') {
      Atomics.store(words, 0, 1);
      Atomics.notify(words, 0);
    } else ev.set();
    if (Atomics.wait(words, 1, 0, 60_000) === 'timed-out') throw new Error('the waiter stopped answering');
    Atomics.store(words, 1, 0);
  }
  await t.join({ timeout: 60_000 });
  return Array.from(at.subarray(0, n), (ms) => ms * 1000);
}

async function endToEnd(opts) {
  const n = opts.quick ? 30 : 100;
  const kinds = { raw: 'raw Atomics.wait', sync: 'Event.waitSync()', promise: 'await Event.wait()' };
  const samples = {};
  for (const kind of Object.keys(kinds)) samples[kind] = { short: [], long: [] };
  // Interleaved in blocks, so that a busy spell of the machine touches every row alike.
  for (let b = 0; b < (opts.quick ? 2 : 4); b++) {
    for (const kind of Object.keys(kinds)) {
      samples[kind].short.push(...(await wakeLatencies(kind, 2, n)));
      samples[kind].long.push(...(await wakeLatencies(kind, 10, n)));
    }
  }
  const rows = [];
  for (const [kind, name] of Object.entries(kinds)) {
    const base = `${name} woken after 2 ms${kind === 'raw' ? '' : ' (not recorded)'}`;
    rows.push({ label: base, samples: samples[kind].short, short: `${kind}, 2 ms` });
    rows.push({
      label: `${name} woken after 10 ms${kind === 'raw' ? '' : ' (recorded at 5 ms)'}`,
      samples: samples[kind].long,
      vs: base,
    });
  }
  return {
    title: 'A recorded wait, end to end: wake-up latency (issue 9)',
    what: 'µs from the wake (set() / notify) on the main thread to the waiter running again, shared clock; threadkit waits of 2 ms are never recorded, waits of 10 ms are.',
    unit: 'µs',
    rows,
    notes: [
      'a longer sleep wakes slower by itself (the raw rows: an idle core sleeps deeper); what the record adds when a wait ends (one update, one removal) is the rest of the threadkit rows’ difference. The recording itself happens while the waiter is still parked, at 5 ms: see the table above.',
    ],
  };
}

async function recording(opts) {
  const samples = await recordCost(opts);
  const names = Object.keys(samples);
  return {
    title: 'Recording a wait (issue 9), one thread, threadkit internals under tsx',
    what: 'ns per call, 1,000 calls per sample. The two stack rows run with source maps on (tsx), which makes stacks dearer than in a plain node run.',
    unit: 'ns/op',
    digits: 0,
    rows: names.map((label) => ({ label, samples: samples[label] })),
    notes: [
      'a …Sync wait captures and formats its stack only once it is recorded (parked 5 ms); a Promise-form wait captures it (unformatted) whenever it parks, because the caller’s frames are gone after its first await, and formats it only if it is recorded.',
    ],
  };
}

function idleCpu(env, ms) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/fixtures/idle-child.mjs', String(ms)], {
      cwd: ROOT,
      env: { ...process.env, THREADKIT_DEADLOCK: env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out).cpuMsPerSecond) : reject(new Error(`idle-child exited ${code}`)),
    );
  });
}

async function watchdogIdle(opts) {
  const off = [];
  const on = [];
  for (let r = 0; r < (opts.quick ? 2 : 5); r++) {
    off.push(await idleCpu('', 1500));
    on.push(await idleCpu('warn', 1500));
  }
  const base = 'THREADKIT_DEADLOCK unset';
  return {
    title: 'The deadlock watchdog while nothing happens (issue 9): CPU time of an idle program',
    what: 'a fresh process whose one thread waits (with a timeout) and whose main thread joins it; CPU ms per second of wall time, all the process’s threads, over 1.5 s.',
    unit: 'ms/s',
    rows: [
      { label: base, samples: off, short: 'unset' },
      { label: 'THREADKIT_DEADLOCK=warn (a look every 250 ms)', samples: on, vs: base },
    ],
  };
}

export const scenarios = [
  {
    name: 'wait-records',
    issue: 9,
    run: async (opts) => {
      const skipped = recordingUnavailable();
      const tables = skipped === undefined ? [await recording(opts)] : [];
      const end = await endToEnd(opts);
      if (skipped !== undefined) end.notes.push(skipped);
      return [...tables, end, await watchdogIdle(opts)];
    },
  },
];
