/**
 * Vite (dashboard build), vite-plugin-pwa (service worker + manifest) and Vitest (all unit/integration tests).
 * The dashboard source root is `client/`; the production build goes to `dist/`, which the Fusebox server serves.
 * One build serves any base path (`/`, `/ops/fusebox`, …): every URL in it is relative (`base: './'`), the server
 * writes the base into index.html's `<base href>`, and the manifest and service worker resolve against their own
 * location (docs/decisions/024-base-path.md).
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'
import { VitePWA } from 'vite-plugin-pwa'
import { NAVIGATE_FALLBACK_ALLOWLIST, isCachedApiGet } from './client/swRoutes.js'

const ROOT = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: 'client',
  // Relative URLs in the build (index.html's script and styles, chunk imports); the dev server still serves at '/'.
  base: './',
  publicDir: 'public',
  build: { outDir: '../dist', emptyOutDir: true, sourcemap: false },
  server: { proxy: { '/trpc': 'http://127.0.0.1:3000', '/auth': 'http://127.0.0.1:3000', '/healthz': 'http://127.0.0.1:3000' } },
  plugins: [
    react(),
    VitePWA({
      // Prompt mode: a new service worker waits until the operator accepts "update available — reload"
      // (docs/decisions/002-service-worker-mode.md). Registration is done by the app via virtual:pwa-register/react.
      registerType: 'prompt',
      injectRegister: false,
      includeAssets: ['favicon.svg'],
      manifest: {
        name: 'Fusebox — resilience dashboard',
        short_name: 'Fusebox',
        description: 'Live latency, errors and circuit breakers of your Node.js services.',
        // Relative to the manifest's own URL (`<base>/manifest.webmanifest`): the base the server mounted it at.
        start_url: '.',
        scope: '.',
        display: 'standalone',
        background_color: '#0f1419',
        theme_color: '#0f1419',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // Relative to the service worker's URL (`<base>/sw.js`), like every precache entry.
        navigateFallback: 'index.html',
        // Only page routes get the app shell; API, metrics, health and export URLs go to the network (swRoutes.ts).
        navigateFallbackAllowlist: NAVIGATE_FALLBACK_ALLOWLIST,
        // A click on an alert notification opens the Alerts page (client/public/sw-notifications.js).
        importScripts: ['sw-notifications.js'],
        runtimeCaching: [
          {
            // tRPC queries are GETs: network-first so the dashboard is live online and shows the last answer offline.
            // The live subscription (SSE, trpc/live.*) is never cached, nor auth.* (a cached role would outlive
            // a sign-out). Matched under the worker's scope, whatever the base (swRoutes.ts).
            urlPattern: isCachedApiGet,
            handler: 'NetworkFirst',
            options: {
              cacheName: 'fusebox-api',
              networkTimeoutSeconds: 3,
              cacheableResponse: { statuses: [200] },
              expiration: { maxEntries: 200, maxAgeSeconds: 7 * 24 * 3600 },
            },
          },
        ],
      },
    }),
  ],
  test: {
    root: ROOT,
    include: ['shared/**/*.test.ts', 'server/**/*.test.ts', 'client/**/*.test.{ts,tsx}'],
    environment: 'node',
    globalSetup: ['server/testing/redisGlobalSetup.ts', 'server/testing/redisClusterGlobalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
