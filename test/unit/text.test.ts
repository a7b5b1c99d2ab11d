import assert from 'node:assert/strict'
import { test } from 'node:test'
import { frameText, textOf } from '../../src/util/text.js'
import { must } from '../../src/util/must.js'

test('textOf writes what String() does, and plain objects as JSON', () => {
  assert.equal(textOf('a'), 'a')
  assert.equal(textOf(42), '42')
  assert.equal(textOf(false), 'false')
  assert.equal(textOf(null), 'null')
  assert.equal(textOf(undefined), 'undefined')
  assert.equal(textOf(10n), '10')
  const d = new Date(0)
  assert.equal(textOf(d), String(d))
  assert.equal(textOf([1, 2]), '1,2')
  assert.equal(textOf(Buffer.from('hé')), 'hé')
  assert.equal(textOf({ a: 1 }), '{"a":1}')
  assert.equal(textOf(Object.assign(Object.create(null) as object, { b: 2 })), '{"b":2}')
  assert.equal(textOf({ toString: () => '3 days' }), '3 days')
})

test('frameText joins every shape of a WebSocket message', () => {
  assert.equal(frameText(Buffer.from('{"a":1}')), '{"a":1}')
  assert.equal(frameText(new Uint8Array(Buffer.from('xy')).buffer), 'xy')
  assert.equal(frameText([Buffer.from('x'), Buffer.from('y')]), 'xy')
})

test('must returns the value and names what is missing', () => {
  assert.equal(must(0, 'zero'), 0)
  assert.equal(must('', 'empty'), '')
  assert.throws(() => must(undefined, 'the P5 report'), /internal: the P5 report/)
  assert.throws(() => must(null, 'a pid'), /a pid/)
})
