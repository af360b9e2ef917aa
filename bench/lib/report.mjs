/**
 * Summaries and tables. Every scenario hands `printTable` a table: a title, a unit, and rows of
 * samples; each row may name the row it is compared with (`vs`) and whether issue 3's goal (within
 * 2x of the raw Atomics figure) applies to that ratio. Ratios compare medians: the median of a few
 * dozen samples is not dragged by the one sample the OS scheduler spoilt.
 */

/** Median, mean, p90, min and count of a list of numbers. */
export function summarize(samples) {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { n: 0, median: Number.NaN, mean: Number.NaN, p90: Number.NaN, min: Number.NaN };
  const q = (p) => {
    const pos = (n - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return { n, median: q(0.5), mean: s.reduce((a, b) => a + b, 0) / n, p90: q(0.9), min: s[0] };
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
 *   rows: { label: string, samples?: number[], stats?: ReturnType<typeof summarize>, vs?: string,
 *           goal?: boolean, failed?: string, short?: string }[], extraRatios?: [string, string][],
 *   notes?: string[] }} table
 */
export function printTable(table) {
  const digits = table.digits ?? 2;
  const goal = table.goal ?? 2;
  const rows = table.rows.map((r) => ({ ...r, stats: r.stats ?? summarize(r.samples ?? []) }));
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  const ratios = [];
  const cells = rows.map((r) => {
    let ratio = '';
    let minRatio = '';
    let verdict = '';
    if (r.failed) ratio = `FAILED: ${r.failed}`;
    else if (r.vs && byLabel.get(r.vs).failed) ratio = '— (baseline failed)';
    else if (r.vs) {
      const base = byLabel.get(r.vs);
      const x = r.stats.median / base.stats.median;
      ratio = `${x.toFixed(2)}x ${base.short ?? base.label}`;
      minRatio = `${(r.stats.min / base.stats.min).toFixed(2)}x`;
      if (r.goal) verdict = x <= goal ? `met (≤${goal}x)` : `MISSED (>${goal}x)`;
      ratios.push({
        table: table.title,
        label: r.short ?? r.label,
        base: base.short ?? base.label,
        x,
        xMin: r.stats.min / base.stats.min,
        goal: r.goal ? goal : undefined,
      });
    } else ratio = 'baseline';
    const s = r.stats;
    return [
      r.label,
      fmt(s.median, digits),
      fmt(s.mean, digits),
      fmt(s.p90, digits),
      fmt(s.min, digits),
      String(s.n),
      ratio,
      minRatio,
      verdict,
    ];
  });
  const head = [
    'contender',
    `median ${table.unit}`,
    'mean',
    'p90',
    'min',
    'n',
    'ratio of medians',
    'of mins',
    'issue-3 goal (medians)',
  ];
  const hasGoal = rows.some((r) => r.goal);
  const cols = hasGoal ? head.length : head.length - 1;
  const widths = head.slice(0, cols).map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c) =>
    c
      .slice(0, cols)
      .map((x, k) => pad(x, widths[k], (k >= 1 && k <= 5) || k === 7))
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
    if (ra.failed || rb.failed) continue;
    ratios.push({
      table: table.title,
      label: ra.short ?? a,
      base: rb.short ?? b,
      x: ra.stats.median / rb.stats.median,
      xMin: ra.stats.min / rb.stats.min,
    });
  }
  for (const r of ratios) {
    const g = r.goal === undefined ? '' : r.x <= r.goal ? ` (goal ≤${r.goal}x: met)` : ` (goal ≤${r.goal}x: MISSED)`;
    console.log(`  ${r.label} / ${r.base} = ${r.x.toFixed(2)}x${g}; of mins ${r.xMin.toFixed(2)}x`);
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
