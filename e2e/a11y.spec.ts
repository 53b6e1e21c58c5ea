/**
 * Issue #5, accessibility: axe-core finds no serious or critical violations on any page, in the light and the dark
 * theme (with real data on screen, so tables, charts and state badges are checked, not placeholders).
 */
import AxeBuilder from '@axe-core/playwright'
import type { Result } from 'axe-core'
import { DESKTOP, PAGES, expect, openPage, signedIn, test, useTheme } from './helpers'

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

for (const theme of ['light', 'dark'] as const) {
  test.describe(`axe, ${theme} theme`, () => {
    for (const p of PAGES) {
      test(`${p.slug} (${theme}): no serious or critical violations`, async ({ page }) => {
        await page.setViewportSize(DESKTOP)
        await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' })
        await signedIn(page)
        await openPage(page, p)
        await useTheme(page, theme)
        const results = await new AxeBuilder({ page }).analyze()
        const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        expect(describe(bad), `axe: serious/critical violations on ${p.path} (${theme})`).toBe('')
      })
    }
  })
}
