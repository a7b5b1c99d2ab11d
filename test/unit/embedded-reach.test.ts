/** Running as root, the embedded PostgreSQL runs as "postgres": which folders on the way can it traverse? */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { firstBlocked, mayTraverse } from '../../src/db/reach.js'

const pg = { uid: 101, gid: 104 }

test('the owner, group and other bits each decide for their own class only', () => {
  assert.equal(mayTraverse({ mode: 0o700, uid: 0, gid: 0 }, pg), false, '/root and mktemp -d')
  assert.equal(mayTraverse({ mode: 0o755, uid: 0, gid: 0 }, pg), true)
  assert.equal(mayTraverse({ mode: 0o701, uid: 0, gid: 0 }, pg), true, 'search without read is enough')
  assert.equal(mayTraverse({ mode: 0o750, uid: 0, gid: 104 }, pg), true, 'its group may')
  assert.equal(mayTraverse({ mode: 0o705, uid: 0, gid: 104 }, pg), false, 'a group without x is refused even when others may')
  assert.equal(mayTraverse({ mode: 0o070, uid: 101, gid: 0 }, pg), false, 'an owner without x is refused even when its group may')
  assert.equal(mayTraverse({ mode: 0o700, uid: 101, gid: 0 }, pg), true)
})

test('the first folder on the way that blocks is named; missing folders are not a block', () => {
  const modes: Record<string, number> = { '/': 0o755, '/root': 0o700, '/root/x': 0o755, '/srv': 0o755, '/srv/a': 0o755 }
  const stat = (p: string) => (modes[p] === undefined ? undefined : { mode: modes[p]!, uid: 0, gid: 0 })
  assert.equal(firstBlocked('/root/x/.iotbench/postgres', pg, stat), '/root')
  assert.equal(firstBlocked('/srv/a/.iotbench/postgres', pg, stat), undefined)
  modes['/srv/a'] = 0o700
  assert.equal(firstBlocked('/srv/a', pg, stat), undefined, 'the target itself is not traversed on the way to it')
  assert.equal(firstBlocked('/srv/a/pg', pg, stat), '/srv/a')
})
