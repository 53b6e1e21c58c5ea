/**
 * Vite (dashboard build), vite-plugin-pwa (service worker + manifest) and Vitest (all unit/integration tests).
 * The dashboard source root is `client/`; the production build goes to `dist/`, which the Fusebox server serves.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'
import { VitePWA } from 'vite-plugin-pwa'

const ROOT = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root: 'client',
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
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#0f1419',
        theme_color: '#0f1419',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        navigateFallback: '/index.html',
        // Never answer API, metrics, health or auth URLs with the app shell.
        navigateFallbackDenylist: [/^\/trpc/, /^\/metrics/, /^\/healthz/, /^\/auth/, /^\/api\//],
        runtimeCaching: [
          {
            // tRPC queries are GETs: network-first so the dashboard is live online and shows the last answer offline.
            // The live subscription (SSE, /trpc/live.*) is never cached, nor auth.* (a cached role would outlive
            // a sign-out).
            urlPattern: ({ url, request }) =>
              url.pathname.startsWith('/trpc/') && !url.pathname.startsWith('/trpc/live.') &&
              !url.pathname.startsWith('/trpc/auth.') &&
              request.method === 'GET' && !request.headers.get('accept')?.includes('text/event-stream'),
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
    globalSetup: ['server/testing/redisGlobalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
