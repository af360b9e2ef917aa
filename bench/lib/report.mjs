/**
 * Summaries and tables. Every scenario hands `printTable` a table: a title, a unit, and rows of
 * samples; each row may name the row it is compared with (`vs`) and whether issue 3's goal (within
 * 2x of the raw Atomics figure) applies to that ratio. Ratios compare medians: the median of a few
 * dozen samples is not dragged by the one sample the OS scheduler spoilt.
 *
 * A table of times (lower is better) shows p90 and min; a table of rates (`better: 'higher'`:
 * tasks/s, items/s, speedups) shows p10 and max instead, so those columns are still the slow tail
 * and the best sample. A table may carry one `extra` column: the median of each row's
 * `extraSamples` (e.g. the same figure with the library's import included, or MB/s next to items/s).
 */

/** Median, mean, p10, p90, min, max and count of a list of numbers. */
export function summarize(samples) {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) {
    const nan = Number.NaN;
    return { n: 0, median: nan, mean: nan, p10: nan, p90: nan, min: nan, max: nan };
  }
  const q = (p) => {
    const pos = (n - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return {
    n,
    median: q(0.5),
    mean: s.reduce((a, b) => a + b, 0) / n,
    p10: q(0.1),
    p90: q(0.9),
    min: s[0],
    max: s[n - 1],
  };
}

function fmt(x, digits) {
  if (!Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  return x.toFixed(digits);
}

function pad(text, width, right = false) {
  return right ? text.padStart(width) : text.padEnd(width);
}

/**
 * Prints one table and returns its ratio lines (for the closing summary).
 * @param {{ title: string, what: string, unit: string, digits?: number, goal?: number,
 *   better?: 'lower' | 'higher', extra?: { head: string, digits?: number },
 *   rows: { label: string, samples?: number[], stats?: ReturnType<typeof summarize>, vs?: string,
 *           goal?: boolean, failed?: string, short?: string, extraSamples?: number[] }[],
 *   extraRatios?: [string, string][], notes?: string[] }} table
 */
export function printTable(table) {
  const digits = table.digits ?? 2;
  const goal = table.goal ?? 2;
  const higher = table.better === 'higher';
  // The slow tail and the best sample: p90 and min for times, p10 and max for rates.
  const tail = higher ? 'p10' : 'p90';
  const best = higher ? 'max' : 'min';
  const rows = table.rows.map((r) => ({ ...r, stats: r.stats ?? summarize(r.samples ?? []) }));
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  const ratios = [];
  const cells = rows.map((r) => {
    let ratio = '';
    let bestRatio = '';
    let verdict = '';
    if (r.failed) ratio = `FAILED: ${r.failed}`;
    else if (r.vs && byLabel.get(r.vs).failed) ratio = '— (baseline failed)';
    else if (r.vs) {
      const base = byLabel.get(r.vs);
      const x = r.stats.median / base.stats.median;
      ratio = `${x.toFixed(2)}x ${base.short ?? base.label}`;
      bestRatio = `${(r.stats[best] / base.stats[best]).toFixed(2)}x`;
      if (r.goal) verdict = x <= goal ? `met (≤${goal}x)` : `MISSED (>${goal}x)`;
      ratios.push({
        table: table.title,
        label: r.short ?? r.label,
        base: base.short ?? base.label,
        x,
        xBest: r.stats[best] / base.stats[best],
        goal: r.goal ? goal : undefined,
      });
    } else ratio = 'baseline';
    const s = r.stats;
    const extra = table.extra ? [fmt(summarize(r.extraSamples ?? []).median, table.extra.digits ?? digits)] : [];
    return [
      r.label,
      fmt(s.median, digits),
      fmt(s.mean, digits),
      fmt(s[tail], digits),
      fmt(s[best], digits),
      String(s.n),
      ...extra,
      ratio,
      bestRatio,
      verdict,
    ];
  });
  const head = [
    'contender',
    `median ${table.unit}`,
    'mean',
    tail,
    best,
    'n',
    ...(table.extra ? [table.extra.head] : []),
    'ratio of medians',
    higher ? 'of maxes' : 'of mins',
    'issue-3 goal (medians)',
  ];
  // Numbers are right-aligned: the five statistics, the extra column, and the best-sample ratio.
  const lastNumber = table.extra ? 6 : 5;
  const bestRatioCol = lastNumber + 2;
  const hasGoal = rows.some((r) => r.goal);
  const cols = hasGoal ? head.length : head.length - 1;
  const widths = head.slice(0, cols).map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c) =>
    c
      .slice(0, cols)
      .map((x, k) => pad(x, widths[k], (k >= 1 && k <= lastNumber) || k === bestRatioCol))
      .join('  ')
      .trimEnd();
  console.log(`\n## ${table.title}`);
  console.log(table.what);
  console.log();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  console.log();
  for (const [a, b] of table.extraRatios ?? []) {
    const ra = byLabel.get(a);
    const rb = byLabel.get(b);
    // A pair may name a row the scenario left out (a contender not built yet): skip it.
    if (!ra || !rb || ra.failed || rb.failed) continue;
    ratios.push({
      table: table.title,
      label: ra.short ?? a,
      base: rb.short ?? b,
      x: ra.stats.median / rb.stats.median,
      xBest: ra.stats[best] / rb.stats[best],
    });
  }
  const bestName = higher ? 'of maxes' : 'of mins';
  for (const r of ratios) {
    const g = r.goal === undefined ? '' : r.x <= r.goal ? ` (goal ≤${r.goal}x: met)` : ` (goal ≤${r.goal}x: MISSED)`;
    console.log(`  ${r.label} / ${r.base} = ${r.x.toFixed(2)}x${g}; ${bestName} ${r.xBest.toFixed(2)}x`);
  }
  for (const n of table.notes ?? []) console.log(`  note: ${n}`);
  return ratios;
}

/** Resolves `p`, or rejects after `ms` (after running `onTimeout`, e.g. terminating workers). */
export async function withDeadline(p, ms, what, onTimeout) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(async () => {
      try {
        await onTimeout?.();
      } finally {
        reject(new Error(`${what} did not finish within ${ms} ms`));
      }
    }, ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that resolves after `ms` (between samples: lets the previous worker finish dying). */
export function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
