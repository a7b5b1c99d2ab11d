/**
 * The oracle's digest must equal what PostgreSQL computes for the same rows, so its expectations are
 * PostgreSQL's own numbers, not the JavaScript's: every value below was printed by PostgreSQL 15.18
 * (`SELECT hashint4extended(k, seed)`, `SELECT hashfloat8extended(v, seed)`, and digestSelect's query
 * over a table holding exactly these rows). A test that computed its expectation with DeviceDigest
 * itself could not notice a change to the chain that both sides would share (seq left out of it).
 * test/integration/verify-digest.test.ts checks the same on a live server for arbitrary streams.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DeviceDigest, H, hashFloat8Extended, hashInt4Extended } from '../../src/verify/digest.js'

/** Runs a hash with a 64-bit seed and returns H as PostgreSQL prints an int8. */
function pg64(hash: (v: number, hi: number, lo: number) => void, v: number, seed: bigint): string {
  hash(v, Number(BigInt.asIntN(32, seed >> 32n)), Number(BigInt.asIntN(32, seed)))
  return BigInt.asIntN(64, (BigInt(H.hi) << 32n) | BigInt(H.lo >>> 0)).toString()
}

const SEEDS = [0n, 1n, -1n, 6501153093718960199n, -4714355478590101943n]

// [value, PostgreSQL's hash with each of SEEDS]
const INT4: ReadonlyArray<readonly [number, readonly string[]]> = [
  [0, ['4154612158245552303', '434346878670890809', '-4140905993450701875', '8212669696809948644', '-3419620371305579253']],
  [1, ['-3670598878359251130', '-7620678293940249823', '1505930170527472848', '-3046512205515695266', '-7245436380143523204']],
  [-1, ['-1888257769727981238', '3987656643895367148', '6481520839006961279', '-7611074266748017940', '-666067512688198919']],
  [2147483647, ['-9109110466470504941', '2560836655869490746', '8384907054876656385', '7829889541032945507', '6951055637700071338']],
  [-2147483648, ['1977219185673256887', '3044001184559810835', '6110074166949006181', '-4304712981896406697', '3476785137911274961']],
  [123456789, ['6027323723798353252', '2962033168605897066', '-2977316665668236270', '3006597473649673408', '-2651222697826194603']],
]
const FLOAT8: ReadonlyArray<readonly [number, readonly string[]]> = [
  [0, ['0', '1', '-1', '6501153093718960199', '-4714355478590101943']],
  [-0, ['0', '1', '-1', '6501153093718960199', '-4714355478590101943']],
  [1, ['4033440226552636220', '-5171306710781166124', '2963906028543945686', '6511163650760887763', '4224971209699279330']],
  [-1, ['7568378172490282248', '5189436293115394237', '-8963245616636741022', '-3555797068956303952', '-3222532814538214179']],
  [38.62, ['811044121196663149', '-5129746309683765474', '-5137750185935894135', '7993205160128536202', '6425085474314487592']],
  [1e-300, ['-1828677583343679246', '149373296082348175', '7422679649688522031', '1850549903531589980', '765773235400332733']],
  [
    1.7976931348623157e308,
    ['-6179952993476499411', '1971221485361428965', '-2326132227948316650', '1888307412744262350', '562323696802358245'],
  ],
  [5e-324, ['-6988697407173885264', '7227242009382692659', '83009847301165024', '-1843986861142036317', '-7225716344940411685']],
  [NaN, ['4719788943832604568', '3661006396734384099', '1566968029372236855', '-6485801312196215235', '223500330654275103']],
  [1780000000.123, ['-296259105152579611', '-3341721421888656667', '-1582596649597949833', '-8021251877210213712', '7763532793769394294']],
]

describe('digest pinned to PostgreSQL (digest.ts)', () => {
  test('hashint4extended: PostgreSQL’s value for every int4 edge and seed', () => {
    for (const [v, want] of INT4)
      assert.deepEqual(
        SEEDS.map((s) => pg64(hashInt4Extended, v, s)),
        want,
        `hashint4extended(${v}, …)`,
      )
  })

  test('hashfloat8extended: PostgreSQL’s value for 0, −0, NaN, the extremes and ordinary values', () => {
    for (const [v, want] of FLOAT8)
      assert.deepEqual(
        SEEDS.map((s) => pg64(hashFloat8Extended, v, s)),
        want,
        `hashfloat8extended(${v}, …)`,
      )
  })

  // digestSelect over readings_chiller holding exactly these rows: sum = 3375389035707410165
  test('a chiller stream (floats, both booleans, −0, a timestamp before 2000) digests to PostgreSQL’s sum', () => {
    const d = new DeviceDigest('chiller')
    d.add(0, Date.UTC(2026, 10, 1, 6, 0, 0, 0), [3.9, true, false, 1250.5, -2.25])
    d.add(1, Date.UTC(2026, 10, 1, 6, 1, 0, 123), [4.05, false, false, 1251, 0])
    d.add(2, Date.UTC(2026, 10, 1, 6, 2, 0, 999), [-0, true, true, 0.1, 17.5])
    d.add(7, Date.UTC(1999, 0, 1, 0, 0, 0, 1), [1e-9, false, true, 123456.789, -40])
    assert.equal(d.rows, 4)
    assert.equal(d.exact, true)
    assert.equal(d.sum, '3375389035707410165')
  })

  // digestSelect over readings_collar holding exactly these rows: sum = 7991953536412821394
  test('a collar stream (NaN, 0, int4 extremes) digests to PostgreSQL’s sum', () => {
    const d = new DeviceDigest('collar')
    d.add(0, Date.UTC(2026, 3, 1, 0, 0, 0, 0), [12.5, 31.25, 8, 38.62, 99.5, -71])
    d.add(1, Date.UTC(2026, 3, 1, 0, 15, 0, 250), [0, 0.5, 0, 39.75, 99.25, -2147483648])
    d.add(2, Date.UTC(2026, 3, 1, 0, 30, 0, 0), [NaN, 1e-300, 7, 41, 0.125, 2147483647])
    assert.equal(d.sum, '7991953536412821394')
  })

  test('a missing value makes the device inexact (PostgreSQL’s NULL hash is left out of its sum)', () => {
    const d = new DeviceDigest('chiller')
    d.add(0, Date.UTC(2026, 10, 1), [3.9, true, false, 1250.5, -2.25])
    const before = d.sum
    d.add(1, Date.UTC(2026, 10, 1), [3.9, true, null, 1250.5, -2.25])
    assert.equal(d.exact, false)
    assert.equal(d.rows, 2)
    assert.equal(d.sum, before, 'a row with a NULL adds nothing to the sum')
  })

  test('a value absent from the row (undefined) makes it inexact too', () => {
    const d = new DeviceDigest('chiller')
    d.add(0, Date.UTC(2026, 10, 1), [3.9, true, false, 1250.5])
    assert.deepEqual([d.exact, d.rows, d.sum], [false, 1, '0'])
  })
})
