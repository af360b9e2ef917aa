/**
 * Issue 10, the threads' part (SPEC "Threads", "Code that runs in a thread"): subclasses with
 * `#private` and static members, excepthooks that fail, results nobody asked for that cannot be
 * sent, targets that do not compile on their own, and the empty name.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setExcepthook, Thread } from 'threadkit';

describe('a result that cannot be sent, and nobody asked for', () => {
  test('is not reported to the excepthook; a later result() rejects with the TypeError naming result', async () => {
    const calls: unknown[] = [];
    setExcepthook(({ error }) => calls.push(error));
    try {
      const targets: (() => unknown)[] = [
        () => setTimeout(() => {}, 0),
        () =>
          (function* numbers() {
            yield 1;
          })(),
        () => ({ nested: { handler: () => 1 } }),
      ];
      for (const target of targets) {
        const t = new Thread({ target });
        t.start();
        await t.join({ timeout: 20_000 });
        assert.equal(t.isAlive(), false);
        assert.deepEqual(calls, [], `nothing reported for ${target}`);
        await assert.rejects(t.result(), (e: Error) => e instanceof TypeError && /\bresult\b/.test(e.message));
      }
    } finally {
      setExcepthook(undefined);
    }
  });
});
