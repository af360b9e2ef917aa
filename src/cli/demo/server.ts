/**
 * Chapter 3 (b): the pooled server of the classic tutorial. A TCP server on 127.0.0.1 reads
 * requests on the main thread (sockets cannot cross threads) and hands each one through a
 * `Queue` to a pool of worker threads; their answers come back through a second `Queue` and the
 * main thread writes them to the right socket. A built-in client drives it over a few connections
 * for a bounded number of requests and times each one.
 *
 * Protocol, one line each way: `ID N` asks for the number of primes below N; the answer is
 * `ID COUNT WORKER`.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket, connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Queue, Thread } from 'threadkit';
import { quantile } from './context.js';

/** [connection, request id, N]. */
type Job = [number, number, number];
/** [connection, request id, primes below N, the worker thread's name]. */
type Reply = [number, number, number, string];

/**
 * A worker thread's target: takes jobs until the queue is shut down and drained, answers each,
 * marks it done. Blocking gets are right here: the thread has nothing else to do meanwhile.
 */
async function serve(requests: Queue<Job>, replies: Queue<Reply>): Promise<number> {
  const { currentThread } = await import('threadkit');
  const me = currentThread().name;
  let served = 0;
  for (;;) {
    let job: Job;
    try {
      job = requests.getSync();
    } catch (e) {
      if ((e as Error).name === 'QueueShutDown') return served;
      throw e;
    }
    const [conn, id, n] = job;
    let primes = 0;
    for (let k = 2; k < n; k++) {
      let prime = true;
      for (let d = 2; d * d <= k; d++) {
        if (k % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) primes++;
    }
    replies.putSync([conn, id, primes, me]);
    requests.taskDone();
    served++;
  }
}

export interface ServerRun {
  requests: number;
  connections: number;
  workers: number;
  seconds: number;
  perSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Requests served by each worker thread, by name. */
  served: Record<string, number>;
  wrong: number;
  unanswered: number;
  workersEnded: boolean;
}

/** Starts the server and its workers, drives it with the client, and shuts everything down. */
export async function runPooledServer(options: {
  workers: number;
  requests: number;
  connections: number;
  sizes: number[];
  expected: Map<number, number>;
  onReply?: () => void;
}): Promise<ServerRun> {
  const requests = new Queue<Job>({ maxsize: 64 });
  const replies = new Queue<Reply>();
  const workers = Array.from({ length: options.workers }, (_, k) => {
    const t = new Thread<number>({ name: `server-worker-${k + 1}`, target: serve, args: [requests, replies] });
    t.start();
    return t;
  });

  const sockets = new Map<number, Socket>();
  let nextConn = 0;
  const server: Server = createServer((socket) => {
    const conn = nextConn++;
    sockets.set(conn, socket);
    socket.on('close', () => sockets.delete(conn));
    socket.on('error', () => socket.destroy());
    createInterface({ input: socket }).on('line', (line) => {
      const [id, n] = line.split(' ').map(Number);
      // A bounded queue: put() waits while 64 jobs are queued (each client has one in flight).
      requests.put([conn, id!, n!]).catch(() => socket.destroy());
    });
  });
  // The replies, written back by the main thread: the iterator ends once the queue is shut down.
  const pump = (async () => {
    for await (const [conn, id, primes, worker] of replies) sockets.get(conn)?.write(`${id} ${primes} ${worker}\n`);
  })();

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const latencies: number[] = [];
  const served: Record<string, number> = {};
  let issued = 0;
  let wrong = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
      while (issued < options.requests) {
        const id = issued++;
        const n = options.sizes[id % options.sizes.length]!;
        const sent = performance.now();
        socket.write(`${id} ${n}\n`);
        const next = await lines.next();
        if (next.done) break;
        latencies.push(performance.now() - sent);
        const [rid, primes, worker] = next.value.split(' ');
        if (Number(rid) !== id || Number(primes) !== options.expected.get(n)) wrong++;
        served[worker!] = (served[worker!] ?? 0) + 1;
        options.onReply?.();
      }
      socket.end();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;

  // Shut down in the tutorial's order: no more requests, the workers drain the queue and return,
  // then the reply queue ends the pump.
  server.close();
  requests.shutdown();
  const counts = await Promise.all(workers.map((t) => t.result()));
  replies.shutdown();
  await pump;
  const sorted = latencies.sort((a, b) => a - b);
  const q = (p: number) => quantile(sorted, p);
  return {
    requests: options.requests,
    connections: options.connections,
    workers: options.workers,
    seconds,
    perSecond: latencies.length / seconds,
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.at(-1) ?? Number.NaN },
    served,
    wrong,
    unanswered: options.requests - latencies.length,
    workersEnded: counts.reduce((a, b) => a + b, 0) === options.requests && workers.every((t) => !t.isAlive()),
  };
}
