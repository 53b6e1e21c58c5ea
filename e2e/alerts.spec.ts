/**
 * Issue #14, alerts in the browser: a rule that holds on the demo fleet fires; the alert bar is on every page while
 * it fires; an operator silences it from the Alerts page with a reason (audited); a viewer sees the rules but cannot
 * change them (buttons disabled, 403 from the API); axe finds no serious violation on the Alerts page; offline, the
 * page shows the last known alerts with the banner; the demo's BullMQ queue is on the Queues page. The rule is
 * deleted afterwards, so other specs see no alert bar.
 */
import AxeBuilder from '@axe-core/playwright'
import { E2E_OPERATOR_TOKEN, E2E_PORT, E2E_VIEWER_TOKEN } from '../playwright.config'
import { DESKTOP, JSON_HEADERS, SERVICE, SIGNED_OUT, expect, goOffline, goOnline, query, signedIn, test, waitUntilControlled } from './helpers'

/** A rule that holds while the demo's load runs: storefront serves more than 0.01 req/s. */
const RULE = {
  name: 'e2e storefront has traffic',
  severity: 'warning',
  forS: 0,
  condition: { kind: 'throughput', service: SERVICE, windowS: 60, aboveRps: 0.01 },
  labels: { team: 'e2e' },
  summary: 'storefront at {{value}} req/s',
}

test.describe.serial('alerts', () => {
  let ruleId = ''

  test.afterAll(async ({ playwright }) => {
    if (!ruleId) return
    const api = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${E2E_PORT}`, storageState: SIGNED_OUT })
    await api.post('/trpc/auth.login', { headers: JSON_HEADERS, data: { token: E2E_OPERATOR_TOKEN } })
    await api.post('/trpc/alerts.rules.delete', { headers: JSON_HEADERS, data: { id: ruleId, reason: 'e2e cleanup' } })
    await api.dispose()
  })

  test('a firing rule puts the alert bar on every page; an operator silences it from the Alerts page with a reason and edits the rule', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/alerts?service=${SERVICE}`)
    const created = await page.request.post('/trpc/alerts.rules.create', { headers: JSON_HEADERS, data: { rule: RULE, reason: 'e2e: a rule that fires' } })
    expect(created.status(), await created.text()).toBe(200)
    ruleId = ((await created.json()) as { result: { data: { id: string } } }).result.data.id

    // Evaluated every 2 s here (playwright.config.ts): firing within a few seconds.
    await expect.poll(async () => (await query<{ alerts: { ruleId: string; state: string }[] }>(page, 'alerts.active', undefined)).alerts.some((a) => a.ruleId === ruleId && a.state === 'firing'), { timeout: 40_000 }).toBe(true)
    const row = page.getByTestId(`alert-${ruleId}`)
    await expect(row).toContainText('firing', { timeout: 20_000 })
    await expect(row).toContainText('storefront at')

    for (const name of ['Overview', 'Endpoints', 'Breakers', 'Requests', 'Events & audit', 'Caches', 'Instances', 'Alerts']) {
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true }).click()
      await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible()
      await expect(page.getByTestId('alert-bar'), `alert bar on ${name}`).toContainText(RULE.name, { timeout: 15_000 })
    }

    const results = await new AxeBuilder({ page }).analyze()
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`)).toEqual([])

    await row.getByRole('button', { name: 'Silence…' }).click()
    const dialog = page.getByRole('dialog', { name: /Silence/ })
    await dialog.getByLabel('Reason').fill('e2e: known load test')
    await dialog.getByRole('button', { name: 'Silence', exact: true }).click()
    await expect(dialog).toBeHidden()
    await expect(row).toContainText('Silenced by e2e-operator', { timeout: 15_000 })
    await expect(page.getByTestId('silences-table')).toContainText('e2e: known load test')
    await expect(page.getByTestId('alert-bar')).toContainText('silenced', { timeout: 15_000 })
    const audit = await query<{ entries: { action: string; reason: string; actor: string }[] }>(page, 'audit.list', { limit: 20 })
    expect(audit.entries.find((e) => e.action === 'silence.create')).toMatchObject({ reason: 'e2e: known load test', actor: 'e2e-operator' })

    // Edit the rule in the page: saved as version 2, audited.
    const ruleRow = page.getByTestId(`rule-${ruleId}`)
    await ruleRow.getByRole('button', { name: 'Edit', exact: true }).click()
    const editor = page.getByTestId('rule-editor')
    const text = editor.getByRole('textbox')
    await text.fill((await text.inputValue()).replace('storefront at', 'storefront now at'))
    await editor.getByRole('button', { name: 'Save rule…' }).click()
    const save = page.getByRole('dialog', { name: /Save/ })
    await save.getByLabel('Reason').fill('e2e: clearer summary')
    await save.getByRole('button', { name: 'Save rule', exact: true }).click()
    await expect(ruleRow).toContainText('(v2)', { timeout: 15_000 })
    const after = await query<{ entries: { action: string; reason: string }[] }>(page, 'audit.list', { limit: 20 })
    expect(after.entries.find((e) => e.action === 'alertRule.update')).toMatchObject({ reason: 'e2e: clearer summary' })
  })

  test('offline, the Alerts page shows the last known alerts with the banner', async ({ page, context }) => {
    await signedIn(page, `/alerts?service=${SERVICE}`)
    await waitUntilControlled(page)
    await expect(page.getByTestId(`alert-${ruleId}`)).toContainText('firing', { timeout: 20_000 })
    await page.waitForTimeout(1500) // the persisted page data is written coalesced (client/src/writeCoalescer.ts)
    await goOffline(context)
    try {
      await page.reload()
      await expect(page.getByTestId('offline-banner')).toBeVisible()
      await expect(page.getByTestId(`alert-${ruleId}`)).toContainText('firing')
      await expect(page.getByTestId(`alert-${ruleId}`).getByRole('button', { name: 'Silence…' })).toBeDisabled()
    } finally {
      await goOnline(context)
    }
  })

  test('the demo’s order-emails queue (a real BullMQ queue) is on the Queues page, linked from the Overview; axe finds no serious violation there', async ({ page }) => {
    await signedIn(page, `/?service=${SERVICE}`)
    const link = page.getByTestId(`service-${SERVICE}`).getByRole('link', { name: /queue/ })
    await expect(link).toBeVisible({ timeout: 30_000 })
    await link.click()
    await expect(page.getByRole('heading', { level: 1, name: 'Queues', exact: true })).toBeVisible()
    const row = page.getByTestId('queue-order-emails')
    await expect(row).toBeVisible({ timeout: 30_000 })
    const results = await new AxeBuilder({ page }).analyze()
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    expect(bad.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`)).toEqual([])
    // Checkouts enqueue receipts and both instances' workers send them: some jobs completed (or failed) by now.
    await expect
      .poll(async () => {
        const q = await query<{ queues: { queue: string; counts: Record<string, number> | null; completed: number; failed: number }[] }>(page, 'queues.list', { service: SERVICE, windowMs: 15 * 60_000 })
        const emails = q.queues.find((x) => x.queue === 'order-emails')
        return emails ? emails.completed + emails.failed : 0
      }, { timeout: 60_000 })
      .toBeGreaterThan(0)
  })

  test('a viewer sees the rules but cannot change them: controls disabled, 403 from the API', async ({ browser }) => {
    const context = await browser.newContext({ storageState: SIGNED_OUT, baseURL: `http://127.0.0.1:${E2E_PORT}` })
    const page = await context.newPage()
    await page.goto(`/alerts?service=${SERVICE}#token=${E2E_VIEWER_TOKEN}`)
    await expect(page.getByRole('heading', { level: 1, name: 'Alerts', exact: true })).toBeVisible({ timeout: 30_000 })
    const rule = page.getByTestId(`rule-${ruleId}`)
    await expect(rule).toContainText(RULE.name, { timeout: 20_000 })
    await expect(rule.getByRole('button', { name: 'Delete…' })).toBeDisabled()
    const refused = await page.request.post('/trpc/alerts.rules.delete', { headers: JSON_HEADERS, data: { id: ruleId, reason: 'viewer tries' } })
    expect(refused.status()).toBe(403)
    await context.close()
  })
})
