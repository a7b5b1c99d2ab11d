/**
 * Test-only seam: makes the ingest misbehave in a counted way so tests can show that the verifier
 * catches it. It never runs unless --fault-hook / IOTBENCH_FAULT_HOOK is given.
 */
export interface FaultBudget {
  drop: number
  duplicate: number
  reorder: number
}

export function parseFaultHook(spec: string | undefined): FaultBudget {
  const budget: FaultBudget = { drop: 0, duplicate: 0, reorder: 0 }
  for (const part of (spec ?? '').split(',').filter(Boolean)) {
    const [name, n] = part.split('=') as [keyof FaultBudget, string]
    budget[name] = Number(n)
  }
  return budget
}
