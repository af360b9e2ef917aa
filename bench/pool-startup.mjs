/**
 * Issue 7: pool construction to first result, in a fresh process each sample, so that whatever a
 * library starts or loads first is paid, as a program's first task pays it. Each sample spawns
 * `node fixtures/startup-child.mjs CONTENDER`; the child times, on its own clock, the import of
 * the library and then the span from just before the constructor to the first result (x + 1 on
 * 41), and prints both. Children run one at a time, contenders interleaved.
 *
 * Each pool is built with its defaults (what a user's first line gets): piscina and tinypool start
 * `minThreads` (here 1) threads at construction, workerpool and threadkit start one on the first
 * task. The peers load their task from a module file (workerpool from its worker script);
 * threadkit runs `new ThreadPool()` + `submit((x) => x + 1, 41)`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { has, skippedNote } from './lib/peers.mjs';
import { threadkitWith } from './lib/threadkit.mjs';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/startup-child.mjs', import.meta.url));

const RAW = 'raw new Worker(ESM file URL) + one message';

const PEERS = ['piscina', 'tinypool', 'workerpool'];

const contenders = [
  { key: 'raw', label: RAW, short: 'raw ESM Worker' },
  { key: 'piscina', label: 'piscina: new Piscina() + run()', short: 'piscina' },
  { key: 'tinypool', label: 'tinypool: new Tinypool() + run()', short: 'tinypool' },
  { key: 'workerpool', label: 'workerpool: pool(script) + exec()', short: 'workerpool' },
  { key: 'threadkit', label: 'threadkit: new ThreadPool() + submit()', short: 'threadkit' },
];

async function sample(key) {
  const { stdout } = await run(process.execPath, [CHILD, key], { timeout: 60_000 });
  const line = stdout.trim().split('\n').at(-1);
  return JSON.parse(line);
}

async function poolStartup(opts) {
  const rounds = opts.quick ? 5 : 20;
  const tk = await threadkitWith('ThreadPool');
  const list = contenders.filter((c) => (c.key !== 'threadkit' || tk.ready) && (!PEERS.includes(c.key) || has(c.key)));
  const first = new Map(list.map((c) => [c.key, []]));
  const withImport = new Map(list.map((c) => [c.key, []]));
  const imports = new Map(list.map((c) => [c.key, []]));
  const failed = new Map();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < list.length; k++) {
      const c = list[(round + k) % list.length];
      if (failed.has(c.key)) continue;
      try {
        const s = await sample(c.key);
        if (s.skipped) throw new Error('the child found no ThreadPool');
        first.get(c.key).push(s.firstMs);
        withImport.get(c.key).push(s.importMs + s.firstMs);
        imports.get(c.key).push(s.importMs);
      } catch (e) {
        failed.set(c.key, (e instanceof Error ? e.message : String(e)).split('\n')[0]);
      }
    }
  }
  const rows = list.map((c) => ({
    label: c.label,
    short: c.short,
    samples: first.get(c.key),
    extraSamples: withImport.get(c.key),
    failed: failed.get(c.key),
    vs: c.key === 'raw' ? undefined : RAW,
  }));
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)];
  };
  const importNote = list.map((c) => `${c.short} ${med(imports.get(c.key)).toFixed(2)} ms`).join(', ');
  const goal = [];
  if (tk.ready && !failed.has('threadkit') && !failed.has('raw')) {
    const x = med(first.get('threadkit')) / med(first.get('raw'));
    const y = med(withImport.get('threadkit')) / med(withImport.get('raw'));
    goal.push(
      `issue-7 goal, pool start-up within 1.2x a raw ESM Worker + one message: ${x.toFixed(2)}x without the import ` +
        `(${x <= 1.2 ? 'met' : 'MISSED'}), ${y.toFixed(2)}x with it (${y <= 1.2 ? 'met' : 'MISSED'})`,
    );
  }
  return [
    {
      title: 'Pool start-up (issue 7): constructor → first result, in a fresh process',
      what:
        `${rounds} fresh processes per contender; the child's performance.now() from just before the constructor to ` +
        'the first result (x + 1), the import of the library excluded; the column "with import" adds it.',
      unit: 'ms',
      extra: { head: 'with import, median ms' },
      rows,
      extraRatios: list
        .filter((c) => PEERS.includes(c.key))
        .map((c) => ['threadkit: new ThreadPool() + submit()', c.label]),
      notes: [
        ...(tk.note ? [tk.note] : []),
        ...(skippedNote(PEERS) ? [skippedNote(PEERS)] : []),
        `import of the library alone (medians): ${importNote}`,
        ...goal,
        'defaults: piscina and tinypool start minThreads (1 on 2 cores) threads in the constructor; workerpool and ' +
          'threadkit start a thread on the first task.',
      ],
    },
  ];
}

export const scenarios = [{ name: 'pool-startup', issue: 7, run: poolStartup }];
