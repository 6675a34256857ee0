import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    name: 'widget',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
})
