/**
 * Whether retrying the same statement on a new connection can help: connection failures (class 08),
 * operator intervention such as admin shutdown (57P01–57P03), too many connections (53300),
 * serialization failures and deadlocks (40001, 40P01), and sockets that died without a SQLSTATE.
 */
export function isRetriableDbError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown }
  const code = typeof e?.code === 'string' ? e.code : ''
  if (/^08/.test(code) || /^57P0[123]$/.test(code) || code === '53300' || code === '40001' || code === '40P01') return true
  if (/^E(CONNRESET|CONNREFUSED|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(code)) return true
  const message = typeof e?.message === 'string' ? e.message : ''
  return /Connection terminated|connection is closed|Client has encountered a connection error|not queryable/i.test(message)
}
