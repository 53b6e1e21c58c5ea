/** Plain-text tables for the benchmark report (also pasted into docs/BENCHMARKS.md as Markdown). */

/** A rendered topic: a title, a header row and data rows. */
export interface Table {
  title: string
  header: string[]
  rows: string[][]
  /** Lines printed under the table (method notes, caveats, errors). */
  notes?: string[]
}

/** Renders a table as Markdown (readable as plain text in a terminal too). */
export function renderTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ') + ' |'
  const out = [`### ${t.title}`, '', line(t.header), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |']
  for (const r of t.rows) out.push(line(r))
  if (t.notes && t.notes.length > 0) out.push('', ...t.notes.map((n) => `> ${n}`))
  return out.join('\n')
}

/** PASS/FAIL cell. */
export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL'
}
