/**
 * Test-only seam: makes the ingest misbehave in a counted way so tests can show that the verifier
 * catches it. It never runs unless --fault-hook / IOTBENCH_FAULT_HOOK is given.
 *   drop, duplicate, reorder   readings (P1, P3)
 *   corrupt                    change the first field of N readings before they are stored (P2)
 *   stallMs                    hold the first batch's commit this long (P4, P6)
 *   dropAlert                  raise but never write N alerts (P5: missed)
 *   spuriousAlert              write N raises no rule made (P5: spurious)
 *   delayAlert                 write N raises one reading later than their rule allows (P5: late)
 *   deadLetter                 reject N valid readings into dead_letters (P7, and P1: lost)
 *   dropLive                   store N readings but keep them from the live feed (P9: missing)
 */
export interface FaultBudget {
  drop: number
  duplicate: number
  reorder: number
  corrupt: number
  stallMs: number
  dropAlert: number
  spuriousAlert: number
  delayAlert: number
  deadLetter: number
  dropLive: number
}

export function parseFaultHook(spec: string | undefined): FaultBudget {
  const budget: FaultBudget = {
    drop: 0,
    duplicate: 0,
    reorder: 0,
    corrupt: 0,
    stallMs: 0,
    dropAlert: 0,
    spuriousAlert: 0,
    delayAlert: 0,
    deadLetter: 0,
    dropLive: 0,
  }
  for (const part of (spec ?? '').split(',').filter(Boolean)) {
    const [name, n] = part.split('=') as [keyof FaultBudget, string]
    budget[name] = Number(n)
  }
  return budget
}
