/**
 * Every module that registers a kind of shareable object (`defineKind`, see `wire/kinds.ts`),
 * imported for that effect alone. A thread's bootstrap (`worker.ts`) loads this file so that
 * whatever crosses into the thread — any primitive, queue, `Local` or `TaskRef` — can be revived
 * there, whatever the target itself imports.
 *
 * These files, and this one, are listed in package.json `sideEffects`: their top-level
 * `defineKind` calls are the point of importing them, so a bundler must keep the imports (with
 * `"sideEffects": false` esbuild dropped a bare import of the index and warned). A module that
 * adds a kind is added here and there (test/packaging.test.ts checks both lists).
 */
import '../queue/queue.js';
import '../sync/barrier.js';
import '../sync/condition.js';
import '../sync/event.js';
import '../sync/lock.js';
import '../sync/rlock.js';
import '../sync/semaphore.js';
import '../wire/target.js';
import './local.js';
