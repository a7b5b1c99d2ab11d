// A live client's record of one device, written out by hand in P9's tests (src/live/client-record.ts keeps
// them as the client receives readings).
import type { DeviceRecord } from '../../src/live/client-record.js'

/** Seqs first..last received once each, unless `over` says otherwise (gaps, repeats, another count). */
export const deviceRecord = (first: number, last: number, over: Partial<DeviceRecord> = {}): DeviceRecord => ({
  first,
  last,
  count: last - first + 1,
  gaps: [],
  gapsTruncated: false,
  repeats: 0,
  firstRepeat: null,
  ...over,
})
