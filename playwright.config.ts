/**
 * Playwright: real Debian Chromium against a production build served by the real Fusebox server, with a real
 * embedded redis-server and the real demo fleet, all started by `npm start`'s own orchestrator.
 */
import { defineConfig, devices } from '@playwright/test'

/**
 * Fixed ports so specs can ask the storefront instances directly (see server/demo/fleet.ts); FUSEBOX_E2E_PORT and
 * FUSEBOX_E2E_DEMO_PORT_BASE move them, so two checkouts can run their specs side by side on one machine.
 */
export const E2E_PORT = Number(process.env.FUSEBOX_E2E_PORT || 4173)
export const E2E_DEMO_PORT_BASE = Number(process.env.FUSEBOX_E2E_DEMO_PORT_BASE || 4300)
export const E2E_OPERATOR_TOKEN = 'e2e-operator-token-0123456789abcdef'
export const E2E_VIEWER_TOKEN = 'e2e-viewer-token-0123456789abcdef'
/** The operator's name in the audit log (the token is configured as `name:token`). */
export const E2E_OPERATOR_NAME = 'e2e-operator'
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync']

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  workers: 1, // one shared demo fleet: specs run in order
  retries: process.env.CI ? 1 : 0,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  // list for people; json (path from PLAYWRIGHT_JSON_OUTPUT_FILE, set by npm test) for the closing count line.
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_FILE ? [['list'], ['json']] : [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    serviceWorkers: 'allow',
    trace: 'retain-on-failure',
    launchOptions: { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS },
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'], channel: undefined } }],
  webServer: {
    // A fresh embedded Redis per run; the build is made by `npm test` before Playwright starts.
    command: `rm -rf .fusebox/e2e-redis && node server/bootstrap/start.mjs --port ${E2E_PORT} --demo-port-base ${E2E_DEMO_PORT_BASE}`,
    url: `http://127.0.0.1:${E2E_PORT}/healthz`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      FUSEBOX_REDIS_DIR: '.fusebox/e2e-redis',
      FUSEBOX_OPERATOR_TOKENS: `${E2E_OPERATOR_NAME}:${E2E_OPERATOR_TOKEN}`,
      FUSEBOX_VIEWER_TOKENS: E2E_VIEWER_TOKEN,
      FUSEBOX_DEMO_RATE: '10',
      FUSEBOX_DEMO_RESTART_EVERY_S: '0', // specs ask both instances directly; restarts are tested elsewhere
      FUSEBOX_ALERT_INTERVAL_S: '2', // e2e/alerts.spec.ts: a rule fires within seconds, not within 10–20 s
    },
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15_000 },
  },
})
