/**
 * Stress tier of the queues (issue 6): 4 producer and 4 consumer threads on one queue, exact
 * accounting: no item lost, none delivered twice, each producer's items in the order it put them
 * (FIFO kinds). Each run is a child process (`fixtures/queue/stress.mjs`, which says how it
 * checks): threads run several times faster without the TypeScript loader this file runs under.
 *
 * The default run moves 200,000 numbers through a Queue; `THREADKIT_STRESS=1` the issue's
 * 1,000,000. Smaller runs cover the other kinds, a bounded queue (producers block, hand-offs on
 * every item), and records (strings too long to sit in the index: chunks filled, retired and
 * reused across threads).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode, STRESS } from './helpers.js';

const PROGRAM = fileURLToPath(new URL('./fixtures/queue/stress.mjs', import.meta.url));

interface Run {
  kind: 'Queue' | 'LifoQueue' | 'PriorityQueue' | 'SimpleQueue';
  maxsize: number;
  total: number;
  /** 'num': numbers (kept in the index); 'str': 40-character strings (records in chunks). */
  items: 'num' | 'str';
  fifo: boolean;
}

const BIG = STRESS ? 1_000_000 : 200_000;
const SMALL = STRESS ? 200_000 : 40_000;

const RUNS: Run[] = [
  { kind: 'Queue', maxsize: 0, total: BIG, items: 'num', fifo: true },
  { kind: 'Queue', maxsize: 64, total: SMALL, items: 'num', fifo: true },
  { kind: 'Queue', maxsize: 0, total: SMALL, items: 'str', fifo: true },
  { kind: 'SimpleQueue', maxsize: 0, total: SMALL, items: 'num', fifo: true },
  { kind: 'LifoQueue', maxsize: 0, total: SMALL, items: 'num', fifo: false },
  { kind: 'PriorityQueue', maxsize: 0, total: SMALL, items: 'str', fifo: false },
];

for (const run of RUNS) {
  const what = `${run.kind}${run.maxsize ? `(maxsize ${run.maxsize})` : ''}: ${run.total.toLocaleString('en')} ${run.items === 'num' ? 'numbers' : '40-character strings'}`;
  test(`4 producers + 4 consumers, ${what}: none lost, none duplicated${run.fifo ? ', per-producer order kept' : ''}`, async (t) => {
    const r = await runNode([PROGRAM, JSON.stringify(run)], { timeout: STRESS ? 900_000 : 120_000 });
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    t.diagnostic(`${out.rate.toLocaleString('en')} items/s (${out.ms} ms); per consumer ${out.counts.join(', ')}`);
  });
}
