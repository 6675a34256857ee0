// Copies the emitted .d.ts files to .d.cts with .cjs import specifiers, so `require` users under
// moduleResolution node16/nodenext get declarations that describe a CommonJS module.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path)
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.js(['"])/g, '$1.cjs$2')
      writeFileSync(path.replace(/\.d\.ts$/, '.d.cts'), text)
    }
  }
}

walk(new URL('../dist', import.meta.url).pathname)
