/**
 * Helpers of the pool tests (conformance-futures, pool-threads, fault-pool, pool-process,
 * stress-pool). Shared helpers live in `helpers.ts`; this file only adds what those need.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { enumerate, type Future, type ThreadLike, type ThreadPool } from 'threadkit';
import { runNode } from './helpers.js';

/** The deadline (ms) of every blocking call in the pool tests: a hang fails, it never stalls. */
export const D = 15_000;

/** The URL (string) of a fixture of `test/fixtures/pool/`. */
export function poolFixture(name: string): string {
  return new URL(`./fixtures/pool/${name}`, import.meta.url).href;
}

/** The typed task module of the fixtures. */
export const TASKS = poolFixture('tasks.ts');

/** The live threads of the pool whose names start with `${prefix}_`. */
export function threadsOf(prefix: string): ThreadLike[] {
  return enumerate().filter((t) => t.name.startsWith(`${prefix}_`));
}

/** What `f` rejects with (fails if it resolves), within the deadline. */
export async function rejection(f: Future<unknown> | Promise<unknown>, ms = D): Promise<any> {
  const p = 'result' in f ? f.result({ timeout: ms }) : f;
  return p.then(
    (v) => assert.fail(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e,
  );
}

/**
 * Runs tiny tasks until the pool hands tasks to a thread ahead of the one it runs: it sizes how
 * many from the tasks' average duration (`pool/engine.ts`, `#depth`), which tiny tasks bring down.
 */
export async function warmUp(pool: ThreadPool, n = 400): Promise<void> {
  for (let k = 0; k < n; k += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => pool.submit((x: number) => x, i).result({ timeout: D })));
  }
}

/** Runs a program of `test/fixtures/pool/` in a child process (under tsx if it is TypeScript). */
export function runPoolProgram(
  name: string,
  { args = [] as string[], timeout = 60_000, nodeArgs = [] as string[] } = {},
) {
  const path = fileURLToPath(poolFixture(name));
  const loader = name.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return runNode([...loader, ...nodeArgs, path, ...args], { timeout });
}

/** A child's outcome, for assertion messages. */
export function explain(r: Awaited<ReturnType<typeof runNode>>): string {
  return `exit code ${r.code}, signal ${r.signal}, ${Math.round(r.ms)} ms\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}
