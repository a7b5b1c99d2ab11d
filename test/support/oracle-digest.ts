// The oracle's digest of one device, computed in a test from DeviceDigest (pinned to PostgreSQL's by
// verify-digest-pinned.test.ts) over the generator's readings: what the digest threads must produce.
import { deviceAt } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { contextOf, generatorOracle } from '../../src/sim/oracle.js'
import { DeviceDigest } from '../../src/verify/digest.js'
import type { DigestSpec } from '../../src/verify/oracle-digests.js'

/** Device i of the spec's fleet: its id, and the digest of its readings 0..perDevice−1. */
export function deviceDigestOf(spec: DigestSpec, i: number): { device: string; digest: string; exact: boolean } {
  const device = deviceAt(spec.fleet, i)
  const oracle = generatorOracle(contextOf(spec))
  const d = new DeviceDigest(device.kind)
  for (let seq = 0; seq < spec.perDevice; seq++) {
    const r = oracle.expected(device, seq)
    d.add(
      seq,
      r.ts,
      KINDS[device.kind].fields.map((f) => r.values[f.name]),
    )
  }
  return { device: device.id, digest: d.sum, exact: d.exact }
}
