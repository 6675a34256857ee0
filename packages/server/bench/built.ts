// The bench measures the compiled server (dist/), what `pnpm start` runs in production; `pnpm bench` builds it
// first. Run from the TypeScript source under tsx instead, esbuild's keepNames wraps every function the code creates
// in a `__name` call, ≈ 10 µs of a cached request's 60 µs of CPU. The source's types describe the build.
export const built = <T>(module: string): Promise<T> => import(new URL(`../dist/${module}.js`, import.meta.url).href) as Promise<T>
