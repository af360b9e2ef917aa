// README tour, a queue: `node examples/tour-queue.mjs` (after `npm run build`).
import { Queue, Thread } from 'threadkit';

// Python's worker pattern: threads take jobs from a Queue until it is shut down.
const jobs = new Queue();
const results = new Queue();
const worker = (jobs, results) => {
  for (;;) {
    let n;
    try {
      n = jobs.getSync(); // blocks this thread, not the main one
    } catch (e) {
      if (e.name === 'QueueShutDown') return; // shut down and drained: no more jobs
      throw e;
    }
    results.putSync(n * n);
    jobs.taskDone();
  }
};
const workers = [1, 2].map(() => new Thread({ target: worker, args: [jobs, results] }));
for (const w of workers) w.start();
for (let n = 1; n <= 10; n++) await jobs.put(n);
await jobs.join(); // every job taken and marked done
jobs.shutdown();
let sum = 0;
while (!results.empty()) sum += await results.get();
console.log('sum of squares:', sum); // sum of squares: 385
