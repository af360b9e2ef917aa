/**
 * threadkit: Python's threading toolkit for TypeScript on Node.js, on real threads.
 * This file only re-exports; each name lives in the module its path says.
 */
export {
  type Deadlock,
  dumpThreads,
  findDeadlocks,
  formatThreadDump,
  type ThreadDump,
  type WaitInfo,
  watchDeadlocks,
} from './diagnostics/index.js';
export {
  BrokenBarrierError,
  BrokenPoolError,
  CancelledError,
  InvalidStateError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  ThreadError,
  ThreadExitError,
  TimeoutError,
} from './errors.js';
export {
  type GetOptions,
  LifoQueue,
  PriorityQueue,
  type PutOptions,
  Queue,
  SimpleQueue,
} from './queue/queue.js';
export type { AcquireOptions } from './shared/validate.js';
export { Future } from './futures/future.js';
export {
  type MapOptions,
  type ModuleProxy,
  type RunOptions,
  ThreadPool,
  ThreadPool as ThreadPoolExecutor,
  type ThreadPoolOptions,
} from './futures/pool.js';
export { ALL_COMPLETED, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, type ReturnWhen, wait } from './futures/wait.js';
export { Barrier, type BarrierOptions } from './sync/barrier.js';
export { Condition, type WaitOptions } from './sync/condition.js';
export { Event } from './sync/event.js';
export { Lock } from './sync/lock.js';
export { RLock } from './sync/rlock.js';
export { BoundedSemaphore, Semaphore } from './sync/semaphore.js';
export { type ExceptHookArgs, setExcepthook } from './thread/excepthook.js';
export { Local } from './thread/local.js';
export {
  activeCount,
  currentThread,
  enumerate,
  getIdent,
  mainThread,
  ThreadHandle,
  type ThreadLike,
} from './thread/registry.js';
export { type Target, Thread, type ThreadOptions } from './thread/thread.js';
export { Timer, type TimerOptions } from './thread/timer.js';
export { move } from './wire/move.js';
export { task, TaskRef } from './wire/target.js';
