/**
 * Issue 7: what a warm pool of 2 threads costs per task, next to piscina, tinypool and workerpool
 * in the same run, and next to raw floors that show what the hardware and Node allow:
 * - `pool-throughput`: 100k tiny tasks (`x => x + 1`) in flight; tasks/s.
 * - `pool-latency`: one task in flight; µs per round trip.
 * - `pool-cpu`: 64 tasks of ~2 ms CPU; speedup over the same tasks run on the main thread.
 * - `pool-payload`: round trips of 1 MiB copied, 1 MiB transferred, a 10 KB nested object.
 * (`pool-startup`, in a fresh process each sample, is in pool-startup.mjs.)
 *
 * Every pool is created once per scenario and warmed up before each of its samples; samples are
 * interleaved one contender at a time (lib/rounds.mjs). The threadkit rows run once dist/ exports
 * `ThreadPool`; until then the table says they were skipped.
 */
import { THREADS, PISCINA, peers, RING, rawMessage, ring, skippedNote, threadkitPools } from './lib/pools.mjs';
import { summarize } from './lib/report.mjs';
import { closeAll, interleaved } from './lib/rounds.mjs';
import { threadkitWith } from './lib/threadkit.mjs';
import { spin } from './fixtures/pool-tasks.mjs';

const TK_FUNCTION = 'threadkit ThreadPool, function target';
const TK_TASK = 'threadkit ThreadPool, task(url, name)';

/**
 * Opens every contender's pool (a constructor that throws fails that row only), runs `body`, and
 * closes every pool whatever happens.
 */
async function withPools(list, body) {
  const open = [];
  const failed = new Map();
  for (const c of list) {
    try {
      open.push({ ...c, pool: c.open() });
    } catch (e) {
      failed.set(c.key, e instanceof Error ? e.message : String(e));
    }
  }
  try {
    return await body(open, failed);
  } finally {
    await closeAll(open.map((c) => [c.label, () => c.pool.close()]));
  }
}

/**
 * Rows for `list`, each compared with the row labelled `vs`; when that contender is not in the
 * list (a peer not installed), with the first row instead.
 */
function rowsOf(list, samples, failed, vs, pick = (v) => v) {
  if (!list.some((c) => c.label === vs)) vs = list[0]?.label;
  return list.map((c) => ({
    label: c.label,
    short: c.short,
    samples: (samples.get(c.key) ?? []).map(pick),
    failed: failed.get(c.key),
    vs: c.label === vs ? undefined : vs,
  }));
}

const median = (rows, label) => {
  const r = rows.find((x) => x.label === label);
  return r && !r.failed ? summarize(r.samples).median : undefined;
};

/**
 * Issue 7's goal for each threadkit row present: `ratio(row, base)` must be `>=` or `<=` `target`.
 * Returns note lines (none when threadkit was skipped).
 */
function goalNotes(rows, base, cmp, target, what) {
  const notes = [];
  for (const label of [TK_FUNCTION, TK_TASK]) {
    const a = median(rows, label);
    const b = median(rows, base);
    if (a === undefined || b === undefined) continue;
    const x = a / b;
    const met = cmp === '>=' ? x >= target : x <= target;
    notes.push(`issue-7 goal, ${what}: ${label} = ${x.toFixed(2)}x (${cmp} ${target}x): ${met ? 'met' : 'MISSED'}`);
  }
  return notes;
}

/** The line saying which peers' rows are missing, if any. */
function peerNote() {
  const note = skippedNote(['piscina', 'tinypool', 'workerpool']);
  return note ? [note] : [];
}

function burst(run, n) {
  const pending = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = run(i);
  return Promise.all(pending);
}

function checkIncs(results) {
  for (let i = 0; i < results.length; i++) {
    if (results[i] !== i + 1) throw new Error(`task ${i}: expected ${i + 1}, got ${results[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Throughput: submit every task, then await them all; tasks/s over the whole batch.

async function poolThroughput(opts) {
  const plan = opts.quick ? { tasks: 20_000, warm: 5_000, rounds: 3 } : { tasks: 100_000, warm: 10_000, rounds: 5 };
  const tk = await threadkitWith('ThreadPool');
  const list = [...peers, ...(tk.ready ? threadkitPools(tk.mod) : []), ring];
  return withPools(list, async (open, failed) => {
    const { samples, failed: sampleFailed } = await interleaved(
      open.map((c) => ({
        key: c.key,
        abort: () => c.pool.close(),
        sample: async () => {
          checkIncs(await burst(c.pool.inc, plan.warm));
          const t0 = performance.now();
          const results = await burst(c.pool.inc, plan.tasks);
          const seconds = (performance.now() - t0) / 1000;
          checkIncs(results);
          return plan.tasks / seconds;
        },
      })),
      plan.rounds,
    );
    const rows = rowsOf(list, samples, new Map([...failed, ...sampleFailed]), PISCINA);
    return [
      {
        title: `Pool throughput (issue 7): ${plan.tasks.toLocaleString('en')} tiny tasks in flight, ${THREADS} threads`,
        what:
          `Each sample submits ${plan.tasks} calls of x => x + 1 at once and awaits them all (after ${plan.warm} ` +
          'unmeasured ones); tasks/s over the batch. Higher is better.',
        unit: 'tasks/s',
        digits: 0,
        better: 'higher',
        rows,
        extraRatios: [
          [TK_FUNCTION, RING],
          [TK_TASK, RING],
        ],
        notes: [
          ...(tk.note ? [tk.note] : []),
          ...peerNote(),
          ...goalNotes(rows, PISCINA, '>=', 10, 'tiny-task throughput >= 10x piscina'),
          'raw floor: one request ring and one response ring per worker (1024 float64 slots each), a ~10 µs spin ' +
            'before Atomics.wait in the worker, the main thread draining results in one Atomics.waitAsync loop, ' +
            'one Promise per task, no futures and no serializer (bench/lib/ring-pool.mjs).',
        ],
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// Latency: one task in flight; each sample is the mean of `trips` sequential round trips.

async function poolLatency(opts) {
  const plan = opts.quick ? { trips: 200, warm: 100, rounds: 5 } : { trips: 500, warm: 200, rounds: 12 };
  const tk = await threadkitWith('ThreadPool');
  const list = [...peers, ...(tk.ready ? threadkitPools(tk.mod) : []), ring];
  return withPools(list, async (open, failed) => {
    const { samples, failed: sampleFailed } = await interleaved(
      open.map((c) => ({
        key: c.key,
        abort: () => c.pool.close(),
        sample: async () => {
          for (let i = 0; i < plan.warm; i++) await c.pool.inc(i);
          const t0 = performance.now();
          for (let i = 0; i < plan.trips; i++) {
            const v = await c.pool.inc(i);
            if (v !== i + 1) throw new Error(`expected ${i + 1}, got ${v}`);
          }
          return ((performance.now() - t0) * 1000) / plan.trips;
        },
      })),
      plan.rounds,
    );
    const rows = rowsOf(list, samples, new Map([...failed, ...sampleFailed]), PISCINA);
    return [
      {
        title: `Pool round trip (issue 7): one task in flight, ${THREADS} threads`,
        what: `Each sample: ${plan.trips} sequential awaited calls of x => x + 1 (after ${plan.warm} unmeasured); µs per round trip.`,
        unit: 'µs',
        rows,
        extraRatios: [
          [TK_FUNCTION, RING],
          [TK_TASK, RING],
        ],
        notes: [
          ...(tk.note ? [tk.note] : []),
          ...peerNote(),
          ...goalNotes(rows, PISCINA, '<=', 0.25, 'round trip <= 0.25x piscina'),
        ],
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------------
// CPU scaling: 64 tasks of ~2 ms each; the speedup over running them one after another on the
// main thread, that serial run being repeated in every round so both sides see the same machine.

/** Iterations of `spin` that take ~`ms` on this thread (warm JIT; the best of a few tries). */
function calibrate(ms) {
  for (let i = 0; i < 20; i++) spin(100_000);
  const probe = 1_000_000;
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    spin(probe);
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1, Math.round((probe * ms) / best));
}

async function poolCpu(opts) {
  const plan = opts.quick ? { tasks: 64, rounds: 3 } : { tasks: 64, rounds: 8 };
  const n = calibrate(2);
  const expected = spin(n);
  const tk = await threadkitWith('ThreadPool');
  const list = [rawMessage, ...peers, ...(tk.ready ? threadkitPools(tk.mod) : [])];
  return withPools(list, async (open, failed) => {
    const { samples, failed: sampleFailed } = await interleaved(
      open.map((c) => ({
        key: c.key,
        abort: () => c.pool.close(),
        sample: async () => {
          // Warm-up: a task per thread at least (threadkit's threads may have retired meanwhile).
          await Promise.all(Array.from({ length: 2 * THREADS }, () => c.pool.spin(n)));
          // The serial reference right before the pool's run, so both see the same spell of the
          // machine (other processes share its cores).
          const serialMs = runSerial(plan.tasks, n, expected);
          const t0 = performance.now();
          const results = await Promise.all(Array.from({ length: plan.tasks }, () => c.pool.spin(n)));
          const ms = performance.now() - t0;
          if (results.some((v) => v !== expected)) throw new Error('a spin task returned a wrong value');
          return { serialMs, ms };
        },
      })),
      plan.rounds,
    );
    const rows = rowsOf(
      list,
      samples,
      new Map([...failed, ...sampleFailed]),
      rawMessage.label,
      (s) => s.serialMs / s.ms,
    );
    const serialMedian = summarize([...samples.values()].flat().map((s) => s.serialMs)).median;
    return [
      {
        title: `Pool CPU scaling (issue 7): ${plan.tasks} tasks of ~2 ms on ${THREADS} threads`,
        what:
          `Each sample: the ${plan.tasks} calls of spin(${n}) run one after another on the main thread, then submitted ` +
          `at once to the warm pool; speedup = main-thread time / pool time. Higher is better.`,
        unit: 'x',
        better: 'higher',
        rows,
        extraRatios: peers.map((p) => [TK_FUNCTION, p.label]),
        notes: [
          ...(tk.note ? [tk.note] : []),
          ...peerNote(),
          ...goalNotes(rows, rawMessage.label, '>=', 0.97, 'CPU speedup >= 0.97x two raw Workers'),
          `main thread, serial: ${serialMedian.toFixed(1)} ms for ${plan.tasks} tasks (median), ` +
            `${(serialMedian / plan.tasks).toFixed(2)} ms a task; spin(n) calibrated once at n = ${n}.`,
        ],
      },
    ];
  });
}

function runSerial(tasks, n, expected) {
  const t0 = performance.now();
  for (let i = 0; i < tasks; i++) if (spin(n) !== expected) throw new Error('spin is not deterministic');
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------
// Payloads: round trips (one in flight) of a value the task returns as it got it.

const MiB = 1 << 20;

/** A deterministic nested object of about 10 KB (as JSON). */
export function nestedObject() {
  const items = [];
  for (let i = 0; i < 80; i++) {
    items.push({
      id: i,
      sku: `SKU-${String(i).padStart(6, '0')}`,
      price: i * 1.25,
      tags: ['alpha', 'beta', `t${i}`],
      dims: { w: i, h: i * 2, d: [i, i + 1, i + 2] },
      active: i % 2 === 0,
    });
  }
  return {
    kind: 'order',
    created: '2024-01-01T00:00:00Z',
    customer: { id: 7, name: 'Ada Lovelace', address: { city: 'London', zip: 'N1 9GU', lines: ['1', '2'] } },
    items,
  };
}

const payloads = {
  copied: {
    title: '1 MiB Uint8Array, copied both ways',
    summary: '1 MiB copied',
    what: 'the task gets a 1 MiB Uint8Array (structured clone) and returns it (cloned back).',
    state: () => ({ buf: new Uint8Array(MiB).map((_, i) => i & 255) }),
    trip: async (pool, s) => {
      const back = await pool.echo(s.buf);
      if (back.byteLength !== MiB || back[MiB - 1] !== 255) throw new Error('the copied buffer came back wrong');
    },
  },
  transferred: {
    title: '1 MiB ArrayBuffer, transferred both ways',
    summary: '1 MiB transferred',
    what:
      'the task gets a 1 MiB ArrayBuffer in the transfer list and moves it back (piscina/tinypool move(), ' +
      'workerpool Transfer, threadkit move()); the next round trip sends the buffer that came back.',
    state: () => ({ buf: new ArrayBuffer(MiB) }),
    trip: async (pool, s) => {
      const back = await pool.echoMove(s.buf);
      if (s.buf.byteLength !== 0) throw new Error('the buffer was copied, not transferred');
      if (!(back instanceof ArrayBuffer) || back.byteLength !== MiB) throw new Error('the buffer did not come back');
      s.buf = back;
    },
  },
  nested: {
    title: '10 KB nested object, cloned both ways',
    summary: '10 KB object',
    what: `the task gets a nested object of ${JSON.stringify(nestedObject()).length} bytes as JSON and returns it.`,
    state: () => ({ obj: nestedObject() }),
    trip: async (pool, s) => {
      const back = await pool.echo(s.obj);
      if (back.items.length !== s.obj.items.length) throw new Error('the object came back wrong');
    },
  },
};

async function poolPayload(opts) {
  const plan = opts.quick
    ? { rounds: 3, trips: { copied: 10, transferred: 10, nested: 100 }, warm: 5 }
    : { rounds: 8, trips: { copied: 30, transferred: 30, nested: 300 }, warm: 10 };
  const tk = await threadkitWith('ThreadPool');
  // threadkit with module targets, as the peers load theirs (and its transfer-back needs `move`).
  const list = [...peers, ...(tk.ready ? [threadkitPools(tk.mod)[1]] : [])];
  return withPools(list, async (open, failed) => {
    const tables = [];
    for (const [kind, p] of Object.entries(payloads)) {
      const trips = plan.trips[kind];
      const { samples, failed: sampleFailed } = await interleaved(
        open.map((c) => {
          const state = p.state();
          return {
            key: c.key,
            abort: () => c.pool.close(),
            sample: async () => {
              for (let i = 0; i < plan.warm; i++) await p.trip(c.pool, state);
              const t0 = performance.now();
              for (let i = 0; i < trips; i++) await p.trip(c.pool, state);
              return ((performance.now() - t0) * 1000) / trips;
            },
          };
        }),
        plan.rounds,
      );
      // A failed payload kind fails that table's row only: the pool still serves the next kind.
      const rows = rowsOf(list, samples, new Map([...failed, ...sampleFailed]), PISCINA);
      const goal = goalNotes(rows, PISCINA, '<=', 1, 'payloads no slower than piscina').filter((l) =>
        l.includes(TK_TASK),
      );
      tables.push({
        title: `Pool payload round trip (issue 7): ${p.title}`,
        summary: `Pool payload round trip, ${p.summary}`,
        what: `One in flight, ${THREADS} threads; each sample ${trips} round trips after ${plan.warm} unmeasured: ${p.what} µs per round trip.`,
        unit: 'µs',
        digits: 1,
        rows,
        notes: [...(tk.note ? [tk.note] : []), ...peerNote(), ...goal],
      });
    }
    return tables;
  });
}

export const scenarios = [
  { name: 'pool-throughput', issue: 7, run: poolThroughput },
  { name: 'pool-latency', issue: 7, run: poolLatency },
  { name: 'pool-cpu', issue: 7, run: poolCpu },
  { name: 'pool-payload', issue: 7, run: poolPayload },
];
