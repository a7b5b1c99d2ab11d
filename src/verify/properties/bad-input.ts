import type pg from 'pg'
import { checkDeadLetters, type DeadLetterReport } from '../dead-letters.js'
import type { PropertyResult, RunManifest } from '../types.js'
import { badInputProperty } from '../verdicts.js'
import type { Property } from './types.js'

export async function checkBadInput(client: pg.Client, runId: number, manifest: RunManifest): Promise<PropertyResult> {
  const r = (await checkDeadLetters(client, runId, manifest)) as DeadLetterReport & {
    validRejectedCount: number
    wrongReasonCount: number
    missingCount: number
  }
  return badInputProperty(r, runId)
}

/** P7 bad input: every injected malformed message is in dead_letters with its reason; no valid one is. */
export const badInput: Property = {
  id: 'P7',
  name: 'bad input',
  lane: 'side',
  check: (ctx) => checkBadInput(ctx.sideClient(), ctx.runId, ctx.manifest),
}
