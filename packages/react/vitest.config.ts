import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // The widget's npm entry from source, so the tests do not depend on it having been built first.
  resolve: { alias: { '@intelagent/widget': fileURLToPath(new URL('../widget/src/npm.ts', import.meta.url)) } },
  test: {
    name: 'react',
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
})
