// Cuts an OpenAPI document down to the operations of some tags and the components they reach (through $ref,
// transitively), so a client that calls only those (the widget) gets wire types for only those.
// Usage: node scripts/openapi-filter.mjs <in.json> <out.json> <tag> [tag…]
import { readFileSync, writeFileSync } from 'node:fs'

const [input, output, ...tags] = process.argv.slice(2)
if (!input || !output || tags.length === 0) {
  console.error('usage: node scripts/openapi-filter.mjs <in.json> <out.json> <tag> [tag…]')
  process.exit(2)
}

const doc = JSON.parse(readFileSync(input, 'utf8'))
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

/** Every `$ref` string inside a value. */
function refsIn(value, found = new Set()) {
  if (Array.isArray(value)) for (const v of value) refsIn(v, found)
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') found.add(v)
      else refsIn(v, found)
    }
  return found
}

const paths = {}
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  const kept = {}
  for (const [key, value] of Object.entries(item)) {
    if (!METHODS.has(key)) kept[key] = value
    else if (value.tags?.some((t) => tags.includes(t))) kept[key] = value
  }
  if (Object.keys(kept).some((k) => METHODS.has(k))) paths[path] = kept
}
if (Object.keys(paths).length === 0) {
  console.error(`no operation has the tag(s) ${tags.join(', ')}`)
  process.exit(1)
}

// Walk the references from the kept operations to a fixed point: a schema may refer to others.
const keep = new Map() // section -> Set of names
const queue = [...refsIn(paths)]
for (let ref = queue.pop(); ref !== undefined; ref = queue.pop()) {
  const m = /^#\/components\/([^/]+)\/(.+)$/.exec(ref)
  if (!m) throw new Error(`cannot follow ${ref}`)
  const [, section, name] = m
  const names = keep.get(section) ?? new Set()
  keep.set(section, names)
  if (names.has(name)) continue
  names.add(name)
  const target = doc.components?.[section]?.[name]
  if (target === undefined) throw new Error(`${ref} is not in the document`)
  queue.push(...refsIn(target))
}

const components = {}
for (const [section, entries] of Object.entries(doc.components ?? {})) {
  // Security schemes are few and referenced by name, not $ref: keep those the kept operations use.
  if (section === 'securitySchemes') {
    const used = new Set(Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => (op.security ?? []).flatMap((s) => Object.keys(s)))))
    const schemes = Object.fromEntries(Object.entries(entries).filter(([name]) => used.has(name)))
    if (Object.keys(schemes).length) components.securitySchemes = schemes
    continue
  }
  const names = keep.get(section)
  if (!names) continue
  components[section] = Object.fromEntries(Object.entries(entries).filter(([name]) => names.has(name)))
}

const tagsKept = doc.tags?.filter((t) => tags.includes(t.name))
writeFileSync(output, `${JSON.stringify({ ...doc, ...(tagsKept ? { tags: tagsKept } : {}), paths, components }, null, 2)}\n`)
