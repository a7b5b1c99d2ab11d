/**
 * Splits a SQL script into top-level statements at semicolons outside quotes, comments and
 * dollar-quoted bodies. Needed for statements that refuse to run inside a transaction block (a
 * TimescaleDB continuous aggregate), which a multi-statement simple query would put in one.
 */
export function splitSql(script: string): string[] {
  const out: string[] = []
  let start = 0
  let i = 0
  while (i < script.length) {
    const c = script[i]
    if (c === '-' && script[i + 1] === '-') {
      const nl = script.indexOf('\n', i)
      i = nl < 0 ? script.length : nl + 1
    } else if (c === '/' && script[i + 1] === '*') {
      const end = script.indexOf('*/', i + 2)
      i = end < 0 ? script.length : end + 2
    } else if (c === "'" || c === '"') {
      const end = script.indexOf(c, i + 1)
      i = end < 0 ? script.length : end + 1
    } else if (c === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(script.slice(i))
      if (m) {
        const end = script.indexOf(m[0], i + m[0].length)
        i = end < 0 ? script.length : end + m[0].length
      } else i++
    } else if (c === ';') {
      const stmt = script.slice(start, i).trim()
      if (stripComments(stmt)) out.push(stmt)
      start = i + 1
      i++
    } else i++
  }
  const tail = script.slice(start).trim()
  if (stripComments(tail)) out.push(tail)
  return out
}

const stripComments = (s: string): string =>
  s
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .trim()
