// The import graph of a package's src/, one node per top-level folder or file (issue 8 §3): which nodes import
// each other (loops, found as strongly connected components) and the longest import chain.
//   pnpm graph            prints both packages' graphs
//   pnpm graph --check    also exits 1 when a loop exists or the server's longest chain exceeds 6 nodes
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const MAX_CHAIN = 6

interface Graph {
  nodes: string[]
  edges: Map<string, Set<string>>
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return /\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : []
  })
}

/** The top-level node a file belongs to: its first folder under src/, or the file itself without extension. */
function nodeOf(src: string, file: string): string {
  const [first, ...rest] = relative(src, file).split(sep)
  return rest.length ? `${first}/` : (first as string).replace(/\.(ts|tsx|js|jsx)$/, '')
}

export function importGraph(src: string): Graph {
  const edges = new Map<string, Set<string>>()
  const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g
  for (const file of files(src)) {
    const from = nodeOf(src, file)
    if (!edges.has(from)) edges.set(from, new Set())
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(importRe)) {
      const target = resolve(dirname(file), (m[1] ?? m[2]) as string)
      if (!target.startsWith(src + sep)) continue
      const to = nodeOf(src, target)
      if (to !== from) edges.get(from)?.add(to)
    }
  }
  for (const targets of [...edges.values()]) for (const t of targets) if (!edges.has(t)) edges.set(t, new Set())
  return { nodes: [...edges.keys()].sort(), edges }
}

/** Tarjan's strongly connected components; every component of more than one node is a loop. */
export function loops(g: Graph): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of g.edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number))
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = []
      let w: string | undefined
      do {
        w = stack.pop() as string
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1) out.push(scc.sort())
    }
  }
  for (const v of g.nodes) if (!idx.has(v)) visit(v)
  return out
}

/** The longest import chain (in nodes), counting each loop as one node so the answer is finite. */
export function longestChain(g: Graph): string[] {
  const comp = new Map<string, string>()
  for (const scc of loops(g)) for (const v of scc) comp.set(v, `{${scc.join(' ')}}`)
  const c = (v: string) => comp.get(v) ?? v
  const dag = new Map<string, Set<string>>()
  for (const [v, ws] of g.edges) {
    if (!dag.has(c(v))) dag.set(c(v), new Set())
    for (const w of ws) if (c(w) !== c(v)) dag.get(c(v))?.add(c(w))
  }
  const memo = new Map<string, string[]>()
  const longest = (v: string): string[] => {
    const known = memo.get(v)
    if (known) return known
    let best: string[] = []
    for (const w of dag.get(v) ?? []) {
      const path = longest(w)
      if (path.length > best.length) best = path
    }
    const path = [v, ...best]
    memo.set(v, path)
    return path
  }
  return [...dag.keys()].map(longest).reduce((a, b) => (b.length > a.length ? b : a), [])
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check')
  let failed = false
  for (const [name, maxChain] of [
    ['server', MAX_CHAIN],
    ['dashboard', MAX_CHAIN],
  ] as const) {
    const g = importGraph(join(ROOT, 'packages', name, 'src'))
    const found = loops(g)
    const chain = longestChain(g)
    console.log(`${name}: ${g.nodes.length} nodes`)
    console.log(`  loops: ${found.length ? found.map((l) => l.join(' ↔ ')).join('; ') : 'none'}`)
    console.log(`  longest chain (${chain.length}): ${chain.join(' → ')}`)
    if (found.length || chain.length > maxChain) failed = true
  }
  if (check && failed) {
    console.error('import graph targets not met (no loops; longest chain ≤ 6 nodes)')
    process.exit(1)
  }
}
