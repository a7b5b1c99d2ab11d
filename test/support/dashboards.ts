import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './cli.js'

export const DASHBOARD_DIR = join(ROOT, 'dashboards', 'grafana', 'dashboards')

export interface Target {
  readonly dashboard: string
  readonly panel: string
  readonly refId: string
  readonly datasource: string
  readonly expr?: string
  readonly rawSql?: string
}

interface Panel {
  id: number
  title: string
  gridPos?: object
  type: string
  datasource?: { uid: string }
  targets?: Array<{ refId: string; expr?: string; rawSql?: string; datasource?: { uid: string } }>
  panels?: Panel[]
}

export function dashboards(): Array<{
  file: string
  json: {
    uid: string
    title: string
    panels: Panel[]
    templating?: { list: Array<{ name: string; query?: string; datasource?: { uid: string } }> }
  }
}> {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) }))
}

/** Every query of every panel (rows' nested panels included). */
export function targets(): Target[] {
  const out: Target[] = []
  for (const { file, json } of dashboards()) {
    const walk = (panels: Panel[]): void => {
      for (const p of panels) {
        for (const t of p.targets ?? []) {
          out.push({
            dashboard: file,
            panel: p.title,
            refId: t.refId,
            datasource: t.datasource?.uid ?? p.datasource?.uid ?? '',
            ...(t.expr !== undefined && { expr: t.expr }),
            ...(t.rawSql !== undefined && { rawSql: t.rawSql }),
          })
        }
        walk(p.panels ?? [])
      }
    }
    walk(json.panels)
  }
  return out
}

/** Grafana's interval variables, as the test's 1 s scrape interval makes them. */
export const promql = (expr: string): string =>
  expr
    .replace(/\$__rate_interval/g, '4s')
    .replace(/\$__interval/g, '1s')
    .replace(/\$__range/g, '5m')
