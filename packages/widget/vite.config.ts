// Two outputs from one `vite build`: the chat chunk (an ES module with a content hash, dist/widget/) and,
// once its name is known, the loader (a classic-script IIFE, dist/widget.js) that imports it by that name.
import { build, defineConfig, type Plugin, type UserConfig } from 'vite'

const shared: UserConfig = {
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  define: { 'process.env.NODE_ENV': '"production"' },
}

function loader(): Plugin {
  return {
    name: 'intelagent-loader',
    apply: 'build',
    async writeBundle(_options, bundle) {
      const chunk = Object.values(bundle).find((f) => f.type === 'chunk' && f.isEntry)
      if (!chunk) throw new Error('chat entry chunk not found')
      await build({
        ...shared,
        configFile: false,
        define: { ...shared.define, __CHAT_CHUNK__: JSON.stringify(chunk.fileName) },
        build: {
          outDir: 'dist',
          emptyOutDir: false,
          target: 'es2019',
          modulePreload: false,
          copyPublicDir: false,
          rolldownOptions: {
            input: 'src/loader.ts',
            output: { format: 'iife', entryFileNames: 'widget.js' },
          },
        },
      })
    },
  }
}

export default defineConfig({
  ...shared,
  plugins: [loader()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    modulePreload: false,
    copyPublicDir: false,
    // Library mode only so Vite leaves the language chunks' dynamic imports alone (no preload helper: they
    // have no dependencies to preload); output names and full minification are set below as for an app.
    lib: { entry: { chat: 'src/chat/index.tsx' }, formats: ['es'] },
    rolldownOptions: {
      // `mount` is the chunk's only export and the loader's only way in.
      preserveEntrySignatures: 'exports-only',
      output: {
        format: 'es',
        entryFileNames: 'widget/chat-[hash].js',
        chunkFileNames: 'widget/[name]-[hash].js',
        minify: true,
        comments: false,
      },
    },
  },
})
