import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FAULT_HOOK_NAMES, FAULT_HOOK_PATTERN, ingestFaultsOf, parseFaultHook } from '../../src/faults/ingest-hook.js'
import { NO_FAULTS, type FaultBatch } from '../../src/ingest/fault-seam.js'
import type { DecodedReading } from '../../src/ingest/decode.js'

const rules = { collar: [], milk: [], chiller: [] }
const reading = (device: string, seq: number): DecodedReading => ({ kind: 'milk', device, seq, ts: seq, sent: seq, values: [1, 2] })

/** What a seam did to a stream of readings: the stored (device, seq, rx) in order, and the dead letters. */
function through(spec: string | undefined, readings: DecodedReading[]): { stored: string[]; dead: number } {
  const seam = ingestFaultsOf(spec, rules, () => 0, '')
  const stored: string[] = []
  let dead = 0
  const batch: FaultBatch = {
    store: (r, _received, rx) => stored.push(`${r.device}#${r.seq}@${rx}`),
    storeAgain: (r) => stored.push(`${r.device}#${r.seq}@again`),
    deadLetter: () => dead++,
  }
  readings.forEach((r, i) => seam.write(r, 0, i, batch))
  seam.release(batch)
  return { stored, dead }
}

test('without a hook the core gets the no-op seam, which stores everything as it came', () => {
  assert.equal(
    ingestFaultsOf(undefined, rules, () => 0, ''),
    NO_FAULTS,
  )
  assert.equal(
    ingestFaultsOf('drop=0', rules, () => 0, ''),
    NO_FAULTS,
  )
  assert.deepEqual(through(undefined, [reading('a', 0), reading('a', 1)]).stored, ['a#0@0', 'a#1@1'])
})

test('each fault does what its name says, a counted number of times', () => {
  const rs = [reading('a', 0), reading('a', 1), reading('a', 2), reading('a', 3)]
  assert.deepEqual(through('drop=1', rs).stored, ['a#1@1', 'a#2@2', 'a#3@3'])
  assert.deepEqual(through('duplicate=1', rs).stored, ['a#0@0', 'a#0@again', 'a#1@1', 'a#2@2', 'a#3@3'])
  // reorder: a#0 is held and goes in after a#1, taking its receive order
  assert.deepEqual(through('reorder=1', rs).stored, ['a#1@0', 'a#0@1', 'a#2@2', 'a#3@3'])
  assert.deepEqual(through('reorder=1', [reading('a', 0)]).stored, ['a#0@0'], 'the drain releases what is held')
  assert.deepEqual(through('deadLetter=2', rs), { stored: ['a#2@2', 'a#3@3'], dead: 2 })
})

test('the option pattern and the budget come from the one list of names', () => {
  for (const name of FAULT_HOOK_NAMES) {
    assert.match(`${name}=3`, FAULT_HOOK_PATTERN)
    assert.equal(parseFaultHook(`${name}=3`)[name], 3)
  }
  assert.match('drop=1,stallMs=200', FAULT_HOOK_PATTERN)
  assert.doesNotMatch('explode=1', FAULT_HOOK_PATTERN)
  assert.doesNotMatch('drop=1,', FAULT_HOOK_PATTERN)
})
