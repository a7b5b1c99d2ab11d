/**
 * `npm run farm-day`: one simulated farm day from the project's own generator (the shipped sensor
 * models, anomalies off), summarised as tables that show each model against its real counterpart,
 * printed and written to docs/farm-day.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { deviceAt, fleetSize, type FleetShape } from '../fleet.js'
import { PACKAGE_ROOT } from '../paths.js'
import { SEQS_PER_DAY, type GeneratorContext } from './context.js'
import { generateReading, sessionMinutes } from './generator.js'
import { ANOMALIES, deepMerge, loadSensorModels, type SensorModels } from './models.js'
import { must } from '../util/must.js'

export interface FarmDay {
  readonly markdown: string
  readonly dailyYieldKg: readonly number[]
  readonly chillerByHour: ReadonlyArray<{ hour: number; meanC: number; maxC: number; volumeL: number; compressorPct: number }>
  readonly coolingMinutes: readonly number[]
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]
const f1 = (x: number): string => x.toFixed(1)
const f2 = (x: number): string => x.toFixed(2)

/** Models with every anomaly rate set to 0: a healthy day, so the statistics describe the normal models. */
export function healthy(models: SensorModels): SensorModels {
  const off = (kind: keyof SensorModels): Record<string, { perDay: number }> =>
    Object.fromEntries((ANOMALIES[kind] as readonly string[]).map((a) => [a, { perDay: 0 }]))
  return deepMerge(models, {
    collar: { anomalies: off('collar') },
    milk: { anomalies: off('milk') },
    chiller: { anomalies: off('chiller') },
  }) as SensorModels
}

export function farmDay(seed = 20261123, fleet: FleetShape = { farms: 1, cowsPerFarm: 60, stallsPerFarm: 4, tanksPerFarm: 1 }): FarmDay {
  const models = healthy(loadSensorModels())
  const ctx: GeneratorContext = { seed, simStartMs: Date.UTC(2026, 5, 1), fleet, models }
  const devices = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))

  // Milk: a milking's summary is its last reading before the cow leaves (duration stops growing).
  const yieldByCow = new Map<number, number>()
  const milkings: Array<{ yieldKg: number; durationS: number; meanFlow: number; peakFlow: number; ec: number }> = []
  for (const d of devices.filter((x) => x.kind === 'milk')) {
    let last: Record<string, number> | undefined
    for (let seq = 0; seq <= SEQS_PER_DAY; seq++) {
      const v = generateReading(ctx, d, seq).values as Record<string, number>
      if (last && last.cow > 0 && last.duration_s > 0 && v.cow !== last.cow) {
        yieldByCow.set(last.cow, (yieldByCow.get(last.cow) ?? 0) + last.yield_kg)
        milkings.push({
          yieldKg: last.yield_kg,
          durationS: last.duration_s,
          meanFlow: last.flow_mean_kg_min,
          peakFlow: last.flow_peak_kg_min,
          ec: last.conductivity_ms_cm,
        })
      }
      last = v
    }
  }
  const daily = [...yieldByCow.values()].sort((a, b) => a - b)

  // Chiller: by hour, and minutes from the end of each session until the milk is back at ≤ maxStoredC.
  const tank = must(
    devices.find((x) => x.kind === 'chiller'),
    'the fleet has a milk tank',
  )
  const temps = Array.from({ length: SEQS_PER_DAY }, (_, seq) => generateReading(ctx, tank, seq).values as Record<string, number | boolean>)
  const chillerByHour = Array.from({ length: 24 }, (_, hour) => {
    const hs = temps.slice(hour * 60, hour * 60 + 60)
    const t = hs.map((v) => v.milk_temp_c as number)
    return {
      hour,
      meanC: t.reduce((a, b) => a + b, 0) / t.length,
      maxC: Math.max(...t),
      volumeL: hs[hs.length - 1].volume_l as number,
      compressorPct: (100 * hs.filter((v) => v.compressor_on).length) / hs.length,
    }
  })
  const c = models.chiller
  const length = sessionMinutes(fleet, models.milk)
  const coolingMinutes = models.milk.sessionHours.map((h) => {
    const end = h * 60 + length
    let m = end
    while (m < end + 600 && (temps[m % SEQS_PER_DAY].milk_temp_c as number) > c.maxStoredC) m++
    return m - end
  })

  // Collar: herd means by hour.
  const collars = devices.filter((x) => x.kind === 'collar')
  const collarByHour = Array.from({ length: 24 }, () => ({ activity: 0, rumination: 0, eating: 0, neck: 0, n: 0 }))
  for (const d of collars) {
    for (let seq = 0; seq < SEQS_PER_DAY; seq++) {
      const v = generateReading(ctx, d, seq).values as Record<string, number>
      const h = collarByHour[Math.floor(seq / 60)]
      h.activity += v.activity
      h.rumination += v.rumination_min
      h.eating += v.eating_min
      h.neck += v.neck_temp_c
      h.n++
    }
  }
  const ruminationPerDay = collarByHour.reduce((a, h) => a + (h.rumination / h.n) * 60, 0)
  const eatingPerDay = collarByHour.reduce((a, h) => a + (h.eating / h.n) * 60, 0)

  const md: string[] = []
  md.push(`# A simulated farm day`, '')
  md.push(
    `Generated by \`npm run farm-day\` (src/sim/farm-day.ts) with the project's own generator and the shipped sensor models (sensor-profiles/sensors/), anomalies off: 1 farm, ${fleet.cowsPerFarm} cows, ${fleet.stallsPerFarm} stalls, ${fleet.tanksPerFarm} tank, seed ${seed}, one reading per sensor per simulated minute, 00:00–24:00 UTC.`,
    '',
  )
  md.push(`## Milk meters: daily yield per cow`, '')
  md.push(
    `${models.milk.sessionHours.length} milkings a day (sessions at ${models.milk.sessionHours.map((h) => `${String(h).padStart(2, '0')}:00`).join(' and ')}, ${length} min each); ${milkings.length} milkings of ${daily.length} cows.`,
    '',
  )
  md.push('| | min | p10 | median | p90 | max |', '|---|---|---|---|---|---|')
  md.push(
    `| daily yield per cow (kg) | ${f1(daily[0])} | ${f1(quantile(daily, 0.1))} | ${f1(quantile(daily, 0.5))} | ${f1(quantile(daily, 0.9))} | ${f1(daily[daily.length - 1])} |`,
  )
  const col = (k: 'yieldKg' | 'durationS' | 'meanFlow' | 'peakFlow' | 'ec'): number[] => milkings.map((m) => m[k]).sort((a, b) => a - b)
  for (const [label, k, fmt] of [
    ['yield per milking (kg)', 'yieldKg', f1],
    ['duration (min)', 'durationS', (x: number) => f1(x / 60)],
    ['mean flow (kg/min)', 'meanFlow', f2],
    ['peak flow (kg/min)', 'peakFlow', f2],
    ['conductivity (mS/cm)', 'ec', f2],
  ] as const) {
    const s = col(k)
    md.push(
      `| ${label} | ${fmt(s[0])} | ${fmt(quantile(s, 0.1))} | ${fmt(quantile(s, 0.5))} | ${fmt(quantile(s, 0.9))} | ${fmt(s[s.length - 1])} |`,
    )
  }
  md.push('', `## Bulk-tank chiller: the cooling curve`, '')
  md.push(
    `Warm milk flows in during each session; the compressor brings it back to ≤ ${c.maxStoredC} °C — limit ${c.coolingLimitMinutes} min after the session ends; measured here: ${coolingMinutes.map((m, i) => `${m} min after the ${String(models.milk.sessionHours[i]).padStart(2, '0')}:00 session`).join(', ')}. The truck empties the tank at ${String(c.collectionHour).padStart(2, '0')}:00.`,
    '',
  )
  md.push('| hour | mean °C | max °C | volume at end (L) | compressor on |', '|---|---|---|---|---|')
  for (const h of chillerByHour)
    md.push(
      `| ${String(h.hour).padStart(2, '0')}:00 | ${f1(h.meanC)} | ${f1(h.maxC)} | ${h.volumeL > 0 ? Math.round(h.volumeL) : '0 (empty: the probe reads the air)'} | ${Math.round(h.compressorPct)} % |`,
    )
  md.push('', `## Collars: the herd's daily pattern`, '')
  md.push(
    `Herd means per hour. Per cow per day: rumination ${Math.round(ruminationPerDay)} min, eating ${Math.round(eatingPerDay)} min.`,
    '',
  )
  md.push('| hour | activity index | rumination min/h | eating min/h | neck °C |', '|---|---|---|---|---|')
  collarByHour.forEach((h, hour) =>
    md.push(
      `| ${String(hour).padStart(2, '0')}:00 | ${f1(h.activity / h.n)} | ${f1((h.rumination / h.n) * 60)} | ${f1((h.eating / h.n) * 60)} | ${f2(h.neck / h.n)} |`,
    ),
  )
  md.push('')
  return { markdown: md.join('\n'), dailyYieldKg: daily, chillerByHour, coolingMinutes }
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href
if (isMain) {
  const day = farmDay()
  const out = join(PACKAGE_ROOT, 'docs', 'farm-day.md')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, day.markdown)
  process.stdout.write(`${day.markdown}\nwritten: ${out}\n`)
}
