import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { CursorSource } from './cursorSource'
import { CursorLogGrid, WindowedLogGrid } from './LogGrid'
import type { CursorRows } from './useCursorRows'
import type { WindowedRows } from './useWindowedRows'
import type { Column } from './VirtualTable'
import { WindowedSource } from './windowedSource'

interface Entry {
  id: string
}

const COLUMNS: Column<Entry>[] = [{ id: 'id', header: 'Id', width: '1fr', render: (e) => e.id }]
const GRID = { columns: COLUMNS, label: 'Log', testId: 'log-grid', rowTestId: 'log-row', statusTestId: 'log-status' }
const never = () => new Promise<never>(() => {})

/** The status bar's text (tags stripped) and whether it has a Refresh button. */
function status(html: string): { text: string; refresh: boolean } {
  const bar = /<div class="table-status" data-testid="log-status">(.*?)<\/div>/.exec(html)?.[1] ?? ''
  return { text: bar.replace(/<[^>]+>/g, '|').replace(/\|+/g, '|'), refresh: bar.includes('>Refresh</button>') }
}

function cursorRows(patch: Partial<CursorRows<Entry>>): CursorRows<Entry> {
  return { entries: [], hasMore: true, loading: false, error: null, scanned: 0, source: new CursorSource<Entry>(never), ...patch }
}

function windowedRows(patch: Partial<WindowedRows<Entry>>): WindowedRows<Entry> & { onRange: () => void } {
  const base = { version: 0, total: null, loading: false, error: null, approximate: false, asOfMs: null }
  return { ...base, source: new WindowedSource<Entry>(never), onRange: () => {}, ...patch }
}

describe('log grids', () => {
  it('a cursor log counts what is loaded, says whether more exists, and offers Load more', () => {
    const rows = cursorRows({ entries: [{ id: 'a' }], hasMore: true, loading: true, scanned: 1234 })
    const html = renderToStaticMarkup(
      <CursorLogGrid {...GRID} rows={rows} summary={(n) => `${n} loaded`} showScanned emptyText="None." errorText="Failed." />,
    )
    expect(status(html)).toEqual({ text: '|1 loaded · more available (1,234 scanned)|Loading…|Refresh|', refresh: true })
    expect(html).toContain('disabled="">Loading…</button>')
  })

  it('a cursor log at its end has no Load more but keeps Refresh; an error is an alert', () => {
    const rows = cursorRows({ hasMore: false, error: 'Boom' })
    const html = renderToStaticMarkup(
      <CursorLogGrid {...GRID} rows={rows} summary={(n) => `${n} loaded`} emptyText="None." errorText="Failed." />,
    )
    expect(status(html)).toEqual({ text: '|0 loaded · end of log|Boom|Refresh|', refresh: true })
    expect(html).toContain('role="alert">Boom</span>')
    expect(html).not.toContain('Load more')
  })

  it('a windowed log says Loading… until its total is known, then the summary and its notes', () => {
    const grid = (rows: WindowedRows<Entry> & { onRange: () => void }) =>
      renderToStaticMarkup(
        <WindowedLogGrid {...GRID} rows={rows} summary={(n) => `${n} entries`} approximateTitle="By time" emptyText="None." errorText="Failed." />,
      )
    expect(status(grid(windowedRows({ loading: true })))).toEqual({ text: '|Loading…|Refresh|', refresh: true })
    const html = grid(windowedRows({ total: 7, loading: true, approximate: true }))
    expect(status(html)).toEqual({ text: '|7 entries|Position approximate (located by time)|Loading rows…|Refresh|', refresh: true })
    expect(html).toContain('title="By time"')
  })
})
