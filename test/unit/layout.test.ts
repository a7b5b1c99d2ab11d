/**
 * The house rules a reviewer would otherwise check by hand (issue 21): no source file over 400 lines,
 * no import cycle among the modules of src/ (read from the compiled JavaScript, where type-only
 * imports are gone: a cycle here is one Node.js really loads), no arrow from a lower room to one above
 * it (util/ imports nothing else; alerts/ neither ingest/ nor verify/), and no IOTBENCH_* variable read
 * around the option table.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { PACKAGE_ROOT } from '../../src/paths.js'

export const MAX_LINES = 400

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => join(dir, f))
}

/** Each module's relative imports (static, side-effect, re-exports and dynamic), resolved to files. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const spec =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]/g
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const deps = new Set<string>()
    for (const m of text.matchAll(spec)) deps.add(resolve(dirname(file), m[1] ?? m[2] ?? m[3] ?? ''))
    graph.set(file, [...deps])
  }
  return graph
}

/** The strongly connected components of more than one module, or one that imports itself (Tarjan). */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0))
    }
    if (low.get(v) !== index.get(v)) return
    const scc: string[] = []
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w)
      scc.push(w)
      if (w === v) break
    }
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort())
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return out
}

test(`no source file under src/ is over ${MAX_LINES} lines`, () => {
  const src = join(PACKAGE_ROOT, 'src')
  const long = filesUnder(src, '.ts')
    .map((f) => ({ file: relative(PACKAGE_ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > MAX_LINES)
    .map((f) => `${f.file}: ${f.lines} lines`)
  assert.deepEqual(long, [], 'split these by subject')
})

test('the modules of src/ import one another without a cycle', () => {
  const dist = join(PACKAGE_ROOT, 'dist', 'src')
  // Only modules whose source is still there: a stale file in dist/ from a moved module is no cycle.
  const compiled = filesUnder(dist, '.js').filter((f) => existsSync(join(PACKAGE_ROOT, 'src', relative(dist, f)).replace(/\.js$/, '.ts')))
  const graph = importGraph(compiled)
  assert.ok(graph.size > 100, `the compiled modules are in ${dist}`)
  const cycles = cyclesOf(graph).map((c) => c.map((f) => relative(dist, f)).join(' ↔ '))
  assert.deepEqual(cycles, [])
})

/**
 * Rooms that sit below others: a module of `room` imports nothing from the rooms named in `notFrom`
 * (`'*'`: nothing else of src/). Read from the sources, type-only imports included: a type that
 * points upwards is an arrow against the layering even when Node.js never loads it.
 */
export const BELOW: ReadonlyArray<{ readonly room: string; readonly notFrom: readonly string[] | '*'; readonly why: string }> = [
  { room: 'util', notFrom: '*', why: 'the bottom room' },
  { room: 'alerts', notFrom: ['ingest', 'verify'], why: 'the alert rules are data both the ingest and the verifier read' },
]

/** Each import of a module under `src/<room>/` that points into a room it must not import from. */
export function upwardArrows(
  graph: ReadonlyMap<string, readonly string[]>,
  src: string,
  room: string,
  notFrom: readonly string[] | '*',
): string[] {
  const roomOf = (f: string): string => relative(src, f).split('/')[0] ?? ''
  const forbidden = (d: string): boolean => (notFrom === '*' ? roomOf(d) !== room : notFrom.includes(roomOf(d)))
  return [...graph]
    .filter(([file]) => roomOf(file) === room)
    .flatMap(([file, deps]) => deps.filter(forbidden).map((d) => `${relative(src, file)} → ${relative(src, d)}`))
}

test('rooms below others import nothing from above: util/ from nothing of src/, alerts/ from neither ingest/ nor verify/', () => {
  const src = join(PACKAGE_ROOT, 'src')
  const graph = importGraph(filesUnder(src, '.ts'))
  for (const { room, notFrom, why } of BELOW) {
    const arrows = upwardArrows(new Map([...graph].map(([f, deps]) => [f, deps.map((d) => d.replace(/\.js$/, '.ts'))])), src, room, notFrom)
    assert.deepEqual(arrows, [], `src/${room}/ is ${why}`)
  }
})

test('the arrow check finds an import from a room above, and none within the room', () => {
  const src = '/s'
  const graph = new Map([
    ['/s/alerts/engine.ts', ['/s/alerts/rules.ts', '/s/kinds.ts', '/s/ingest/decode.ts']],
    ['/s/alerts/rules.ts', ['/s/kinds.ts']],
    ['/s/ingest/core.ts', ['/s/alerts/engine.ts']],
  ])
  assert.deepEqual(upwardArrows(graph, src, 'alerts', ['ingest', 'verify']), ['alerts/engine.ts → ingest/decode.ts'])
  assert.deepEqual(upwardArrows(graph, src, 'alerts', '*'), [
    'alerts/engine.ts → kinds.ts',
    'alerts/engine.ts → ingest/decode.ts',
    'alerts/rules.ts → kinds.ts',
  ])
  assert.deepEqual(upwardArrows(graph, src, 'ingest', ['verify']), [])
})

/** Variables that are no option: the pool hands a Kafka consumer process its worker data through it. */
const INTERNAL_VARIABLES = new Set(['IOTBENCH_INGEST_WORKER'])

test('every IOTBENCH_* variable is read through the option table (src/config/), none by name elsewhere', () => {
  const read = /env(?:\[\s*['"`]|\.)(IOTBENCH_\w+)/g
  const byName = filesUnder(join(PACKAGE_ROOT, 'src'), '.ts')
    .filter((f) => !relative(PACKAGE_ROOT, f).startsWith('src/config/'))
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(read)].map((m) => ({ file: relative(PACKAGE_ROOT, f), name: m[1] ?? '' })))
    .filter((x) => !INTERNAL_VARIABLES.has(x.name))
    .map((x) => `${x.file}: ${x.name}`)
  assert.deepEqual(byName, [], 'add an option (src/config/options/) and read the resolved config instead')
})

test('the cycle finder finds a cycle through three modules, and none in a chain', () => {
  const ring = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
  ])
  assert.deepEqual(cyclesOf(ring), [['a', 'b', 'c']])
  assert.deepEqual(
    cyclesOf(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  )
  assert.deepEqual(cyclesOf(new Map([['a', ['a']]])), [['a']])
})
