// The dashboard SPA, served by the server under /dashboard/ (index.html fallback). The build is CSP-strict:
// one external script, one external stylesheet, nothing inline.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/dashboard/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    // Bundle the SDK from source: the dashboard build must not depend on the SDK having been built first.
    alias: { '@intelagent/sdk': fileURLToPath(new URL('../sdk/src/index.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The preload polyfill would be inlined; every supported browser has modulepreload anyway.
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  // `pnpm --filter @intelagent/dashboard dev` against a server on :3000 (same origin through the proxy).
  server: { proxy: { '/api': { target: 'http://localhost:3000', changeOrigin: false } } },
})
