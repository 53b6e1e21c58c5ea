import Papa from 'papaparse'
import { describe, expect, it } from 'vitest'
import { toCsv } from './csv'

describe('toCsv', () => {
  const columns = [
    { header: 'Route', render: (r: { route: string; rps: number }) => r.route },
    { header: 'req/s', render: (r: { route: string; rps: number }) => r.rps.toFixed(2) },
    { header: 'Error %', render: () => null, text: () => '1.5' },
  ]
  it('writes a header row and each row as the table shows it, quoting what needs quoting', () => {
    const csv = toCsv(columns, [{ route: '/a,b', rps: 1 }, { route: '/say "hi"', rps: 2.5 }])
    expect(csv).toBe('Route,req/s,Error %\r\n"/a,b",1.00,1.5\r\n"/say ""hi""",2.50,1.5')
    expect(Papa.parse(csv).data).toEqual([['Route', 'req/s', 'Error %'], ['/a,b', '1.00', '1.5'], ['/say "hi"', '2.50', '1.5']])
  })
  it('escapes a cell a spreadsheet would run as a formula', () => {
    expect(toCsv(columns.slice(0, 1), [{ route: '=HYPERLINK("x")', rps: 0 }])).toContain(`"'=HYPERLINK(""x"")"`)
  })
})
