/**
 * examples/deadlock.mjs, the program the README's "When a program hangs" shows: it deadlocks on
 * purpose, prints what watchDeadlocks() found and a thread dump, ends its threads and exits.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runNode } from './helpers.js';

test('examples/deadlock.mjs reports its deadlock, with a thread dump, and exits by itself', async () => {
  const r = await runNode(['examples/deadlock.mjs'], { timeout: 60_000 });
  const ctx = `exit code ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.code, 0, ctx);
  assert.equal(r.stderr, '', ctx);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'Found one threadkit deadlock:', ctx);
  assert.match(r.stdout, /^ {2}"transfer" waits for Lock#(\d+) held by audit \(sync\)$/m);
  assert.match(r.stdout, /^ {2}"audit" waits for Lock#(\d+) held by transfer \(sync\)$/m);
  assert.match(r.stdout, /^threadkit thread dump \S+, 3 threads:$/m);
  assert.match(r.stdout, /^"MainThread" ident=1 running$/m);
  for (const [name, other] of [
    ['transfer', 'audit'],
    ['audit', 'transfer'],
  ]) {
    assert.match(
      r.stdout,
      new RegExp(
        `^"${name}" ident=\\d+ waiting\\n   - acquire on Lock#\\d+ held by ${other} \\(sync\\) for \\d+\\.\\d\\d s\\n {8}at ${name} \\(threadkit-target:${name}:\\d+:\\d+\\)$`,
        'm',
      ),
      ctx,
    );
  }
  assert.match(r.stdout, /^terminated "transfer" and "audit"$/m);
});

test('the README shows a report of examples/deadlock.mjs and one of the watchdog', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const at = readme.indexOf('## When a program hangs');
  assert.ok(at >= 0, 'the section is there');
  const section = readme.slice(at, readme.indexOf('\n## ', at + 1));
  assert.match(
    section,
    /```text\nFound one threadkit deadlock:\n {2}"transfer" waits for Lock#\d+ held by audit \(sync\)\n/,
  );
  assert.match(section, /```text\nthreadkit: All threads are asleep - deadlock!\n/);
  for (const name of ['dumpThreads', 'formatThreadDump', 'findDeadlocks', 'watchDeadlocks']) {
    assert.ok(section.includes(`\`${name}(`), name);
  }
  assert.match(section, /THREADKIT_DEADLOCK=warn/);
  assert.match(section, /THREADKIT_DEADLOCK=abort/);
  assert.match(section, /THREADKIT_DUMP_SIGNAL=SIGUSR2/);
});
