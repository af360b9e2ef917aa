/**
 * Issue 10, the primitives' part: a barrier too large for its shared word, waiter counts of
 * `util.inspect` once waiters are terminated, `withLockSync` given an async body, and messages
 * that named the wrong thing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Barrier } from 'threadkit';

describe('Barrier parties beyond the shared word', () => {
  test('parties above 2 ** 31 - 1 throw RangeError instead of wrapping around', () => {
    for (const parties of [2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
      assert.throws(
        () => new Barrier(parties),
        (e: Error) => e instanceof RangeError && /`parties`/.test(e.message) && e.message.includes(String(parties)),
        String(parties),
      );
    }
    assert.equal(new Barrier(2 ** 31 - 1).parties, 2 ** 31 - 1);
  });
});
