/**
 * Issues #5 and #15, accessibility: axe-core finds no serious or critical violations on any page of `PAGES`, in the
 * light and the dark theme, at 1280×800 and at 390×844 (with real data on screen, so tables, charts and state badges
 * are checked, not placeholders).
 */
import AxeBuilder from '@axe-core/playwright'
import type { Result } from 'axe-core'
import { DESKTOP, PAGES, PHONE, expect, openPage, signedIn, test, useTheme } from './helpers'

/** One readable block per violation: rule, impact, help, and the first few offending nodes with their summary. */
function describe(violations: Result[]): string {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 5)
        .map((n) => `    - ${n.target.join(' ')}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`)
        .join('\n')
      const more = v.nodes.length > 5 ? `\n    … and ${v.nodes.length - 5} more` : ''
      return `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}${more}`
    })
    .join('\n\n')
}

const SIZES = [
  { name: 'desktop', viewport: DESKTOP },
  { name: 'phone', viewport: PHONE },
] as const

// One page load per page and size; both themes are checked on it (the theme switches without a reload).
for (const size of SIZES) {
  test.describe(`axe, ${size.name} ${size.viewport.width}×${size.viewport.height}`, () => {
    for (const p of PAGES) {
      test(`${p.slug} (${size.name}): no serious or critical violations in the light and the dark theme`, async ({ page }) => {
        await page.setViewportSize(size.viewport)
        await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' })
        await signedIn(page)
        await openPage(page, p)
        const found: string[] = []
        for (const theme of ['light', 'dark'] as const) {
          await useTheme(page, theme)
          const results = await new AxeBuilder({ page }).analyze()
          const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
          if (bad.length > 0) found.push(`${theme} theme:\n${describe(bad)}`)
        }
        expect(found.join('\n\n'), `axe: serious/critical violations on ${p.path} at ${size.viewport.width}×${size.viewport.height}`).toBe('')
      })
    }
  })
}
