import type pg from 'pg'
import { checkDeadLetters, type DeadLetterReport } from '../dead-letters.js'
import type { PropertyResult, RunManifest } from '../types.js'
import type { Property } from './types.js'

export async function checkBadInput(client: pg.Client, runId: number, manifest: RunManifest): Promise<PropertyResult> {
  const r = (await checkDeadLetters(client, runId, manifest)) as DeadLetterReport & { validRejectedCount: number; wrongReasonCount: number; missingCount: number }
  const pass = r.missingCount === 0 && r.wrongReasonCount === 0 && r.validRejectedCount === 0
  return {
    id: 'P7',
    name: 'bad input',
    pass,
    summary: `${r.found - r.wrongReasonCount} of ${r.injected} injected malformed messages in dead_letters with their reason; missing ${r.missingCount}, wrong reason ${r.wrongReasonCount}, valid readings rejected ${r.validRejectedCount}${r.foreign ? `, ${r.foreign} other dead letters (not this run's)` : ''}`,
    evidence: { ...r, reproduce: `SELECT reason, count(*) FROM dead_letters WHERE run_id = ${runId} GROUP BY reason` },
  }
}

/** P7 bad input: every injected malformed message is in dead_letters with its reason; no valid one is. */
export const badInput: Property = { id: 'P7', name: 'bad input', lane: 'side', check: (ctx) => checkBadInput(ctx.sideClient(), ctx.runId, ctx.manifest) }
