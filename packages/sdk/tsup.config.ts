// ESM (dist/index.js) and CJS (dist/index.cjs) bundles. Declarations come from `tsc` (see package.json
// "build"): tsup's dts step needs the TypeScript compiler API, which TypeScript 7 no longer ships.
import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  clean: true,
  dts: false,
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
})
