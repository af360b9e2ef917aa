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
 * One table's figures: each row's statistics and its ratio to its `vs` row, and every ratio line
 * (the rows' and the table's `extraRatios`), each with the table's direction (`better`) and unit,
 * so that a summary can say which way is better. What `printTable` prints and `--json` emits.
 * @param {{ title: string, summary?: string, what: string, unit: string, digits?: number, goal?: number,
 *   better?: 'lower' | 'higher', extra?: { head: string, digits?: number },
 *   rows: { label: string, samples?: number[], stats?: ReturnType<typeof summarize>, vs?: string,
 *           goal?: boolean, failed?: string, short?: string, extraSamples?: number[] }[],
 *   extraRatios?: [string, string][], notes?: string[] }} table
 */
export function summarizeTable(table) {
  const goal = table.goal ?? 2;
  const better = table.better === 'higher' ? 'higher' : 'lower';
  // The best sample: min for times, max for rates.
  const best = better === 'higher' ? 'max' : 'min';
  const rows = table.rows.map((r) => ({
    label: r.label,
    short: r.short,
    stats: r.stats ?? summarize(r.samples ?? []),
    extra: table.extra ? summarize(r.extraSamples ?? []).median : undefined,
    vs: r.vs,
    failed: r.failed,
    goal: r.goal,
  }));
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  const ratios = [];
  const ratio = (a, b, goalTarget) => {
    const x = a.stats.median / b.stats.median;
    const record = {
      table: table.title,
      label: a.short ?? a.label,
      base: b.short ?? b.label,
      x,
      xBest: a.stats[best] / b.stats[best],
      goal: goalTarget,
      better,
      unit: table.unit,
    };
    ratios.push(record);
    return record;
  };
  for (const r of rows) {
    const base = r.vs === undefined ? undefined : byLabel.get(r.vs);
    if (r.failed || base === undefined || base.failed) continue;
    const record = ratio(r, base, r.goal ? goal : undefined);
    r.ratio = record.x;
    r.ratioBest = record.xBest;
    r.base = record.base;
    if (r.goal) r.met = record.x <= goal;
  }
  for (const [a, b] of table.extraRatios ?? []) {
    const ra = byLabel.get(a);
    const rb = byLabel.get(b);
    // A pair may name a row the scenario left out (a peer not installed, a contender not built
    // yet): skip it.
    if (!ra || !rb || ra.failed || rb.failed) continue;
    ratio(ra, rb, undefined);
  }
  return {
    title: table.title,
    // What the closing summary calls the measurement (default: the title up to "(issue N)").
    summary: table.summary,
    what: table.what,
    unit: table.unit,
    better,
    digits: table.digits ?? 2,
    goal,
    extraHead: table.extra?.head,
    extraDigits: table.extra?.digits,
    rows,
    ratios,
    notes: table.notes ?? [],
  };
}

/** The text of one summarized table, line by line, as `printTable` prints it. */
export function formatTable(t) {
  const digits = t.digits;
  const higher = t.better === 'higher';
  // The slow tail and the best sample: p90 and min for times, p10 and max for rates.
  const tail = higher ? 'p10' : 'p90';
  const best = higher ? 'max' : 'min';
  const byLabel = new Map(t.rows.map((r) => [r.label, r]));
  const cells = t.rows.map((r) => {
    let ratio = '';
    let bestRatio = '';
    let verdict = '';
    if (r.failed) ratio = `FAILED: ${r.failed}`;
    else if (r.vs && byLabel.get(r.vs)?.failed) ratio = '— (baseline failed)';
    else if (r.ratio !== undefined) {
      ratio = `${r.ratio.toFixed(2)}x ${r.base}`;
      bestRatio = `${r.ratioBest.toFixed(2)}x`;
      if (r.goal) verdict = r.met ? `met (≤${t.goal}x)` : `MISSED (>${t.goal}x)`;
    } else ratio = 'baseline';
    const s = r.stats;
    const extra = t.extraHead ? [fmt(r.extra, t.extraDigits ?? digits)] : [];
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
    `median ${t.unit}`,
    'mean',
    tail,
    best,
    'n',
    ...(t.extraHead ? [t.extraHead] : []),
    'ratio of medians',
    higher ? 'of maxes' : 'of mins',
    'issue-3 goal (medians)',
  ];
  // Numbers are right-aligned: the five statistics, the extra column, and the best-sample ratio.
  const lastNumber = t.extraHead ? 6 : 5;
  const bestRatioCol = lastNumber + 2;
  const hasGoal = t.rows.some((r) => r.goal);
  const cols = hasGoal ? head.length : head.length - 1;
  const widths = head.slice(0, cols).map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
  const line = (c) =>
    c
      .slice(0, cols)
      .map((x, k) => pad(x, widths[k], (k >= 1 && k <= lastNumber) || k === bestRatioCol))
      .join('  ')
      .trimEnd();
  const lines = ['', `## ${t.title}`, t.what, '', line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const c of cells) lines.push(line(c));
  lines.push('');
  const bestName = higher ? 'of maxes' : 'of mins';
  for (const r of t.ratios) {
    const g = r.goal === undefined ? '' : r.x <= r.goal ? ` (goal ≤${r.goal}x: met)` : ` (goal ≤${r.goal}x: MISSED)`;
    lines.push(`  ${r.label} / ${r.base} = ${r.x.toFixed(2)}x${g}; ${bestName} ${r.xBest.toFixed(2)}x`);
  }
  for (const n of t.notes) lines.push(`  note: ${n}`);
  return lines;
}

/**
 * Prints one table (through `out`, one line a call) and returns its ratio lines (for the closing
 * summary).
 */
export function printTable(table, out = console.log) {
  const t = summarizeTable(table);
  for (const l of formatTable(t)) out(l);
  return t.ratios;
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
