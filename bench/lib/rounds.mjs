/** Interleaved sampling, shared by the pool and queue scenarios. */
import { withDeadline } from './report.mjs';

const message = (e) => (e instanceof Error ? e.message : String(e));

/**
 * Takes `rounds` samples of every contender, one of each per round, so a busy spell of the machine
 * (other processes share its 2 cores) touches every contender alike; the contender that opens a
 * round rotates, so none is always first after the previous round's teardown.
 *
 * A contender is `{ key, sample(round) → Promise<value>, abort?() }`. A sample that throws or
 * overruns `deadline` ms marks its contender failed (after `abort()`, which must end whatever the
 * sample started); the others go on. Returns the values per key and the failures per key.
 */
export async function interleaved(contenders, rounds, { deadline = 120_000 } = {}) {
  const samples = new Map(contenders.map((c) => [c.key, []]));
  const failed = new Map();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length];
      if (failed.has(c.key)) continue;
      try {
        samples.get(c.key).push(await withDeadline(c.sample(round), deadline, `${c.key} sample`, c.abort));
      } catch (e) {
        failed.set(c.key, message(e));
      }
    }
  }
  return { samples, failed };
}

/**
 * Calls every `close()` (each bounded by `deadline` ms), even when some throw; resolves once all
 * have settled. Pools that fail to close are named on stderr, and the run's leak check reports
 * what they left behind.
 */
export async function closeAll(closers, deadline = 30_000) {
  const results = await Promise.allSettled(
    closers.map(([what, close]) => withDeadline(Promise.resolve().then(close), deadline, `${what}: close`)),
  );
  for (const r of results) if (r.status === 'rejected') console.error(`bench: ${message(r.reason)}`);
}
