/**
 * Stress of the pool (issue 7: "a stress run of 1,000,000 tasks with bounded memory"): tiny tasks
 * through `map` over a generator, and `submit` calls paced by `waitForRoom()` under `maxQueue`,
 * every result checked. Each runs in a child process (`fixtures/pool/program-stress.mjs`, with
 * --expose-gc) that measures its live heap after a collection a tenth of the way and at the end
 * (a leak per task shows as growth between them) and reports its peak RSS.
 *
 * The default run uses 50,000 tasks each; `npm run test:stress` (STRESS) runs 1,000,000.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRESS } from './helpers.js';
import { explain, runPoolProgram } from './helpers-pool.js';

const COUNT = STRESS ? 1_000_000 : 50_000;

interface Report {
  mode: string;
  count: number;
  done: number;
  bad: number;
  ms: number;
  perSecond: number;
  heapEarlyMb: number;
  heapEndMb: number;
  maxRssMb: number;
}

for (const mode of ['map', 'submit'] as const) {
  const what = mode === 'map' ? 'map over a generator' : 'submit paced by waitForRoom (maxQueue 1000)';
  test(`${COUNT.toLocaleString('en')} tasks through ${what}: all results right, memory bounded`, async (t) => {
    const r = await runPoolProgram('program-stress.mjs', {
      nodeArgs: ['--expose-gc'],
      args: [mode, String(COUNT)],
      timeout: STRESS ? 600_000 : 60_000,
    });
    assert.equal(r.code, 0, explain(r));
    const m = JSON.parse(r.stdout) as Report;
    t.diagnostic(
      `${mode}: ${m.count} tasks in ${m.ms} ms (${m.perSecond}/s); live heap ${m.heapEarlyMb} → ${m.heapEndMb} MiB; peak RSS ${m.maxRssMb} MiB`,
    );
    assert.equal(m.done, COUNT);
    assert.equal(m.bad, 0, 'every result is the right one, in input order for map');
    // Bounded: nothing is kept per task. 8 MiB over 90% of the run is < 200 bytes a task at
    // 50,000 (a Future and its task alone are more), < 10 bytes at 1,000,000.
    assert.ok(m.heapEndMb - m.heapEarlyMb < 8, `the live heap grew from ${m.heapEarlyMb} to ${m.heapEndMb} MiB`);
    assert.ok(m.maxRssMb < 512, `peak RSS ${m.maxRssMb} MiB`);
  });
}
