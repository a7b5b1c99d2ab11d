import type { OptionSpec } from '../option-spec.js'

/** Several hosts (shards), connection layout and the max-rate search. */
export const SCALE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'shard',
    flag: 'shard',
    type: 'string',
    pattern: /^\d+\/\d+$/,
    patternHelp: 'i/n, e.g. 1/2',
    help: 'be agent i of n that make one run (an exact share of the farms, published and ingested here); needs the same --run-id, --seed, broker and database on every agent (they meet at a barrier in the database, or at --start-at); then: iotbench merge',
  },
  {
    key: 'startAt',
    flag: 'start-at',
    type: 'string',
    help: 'start the open-loop schedule at this time (ISO 8601 or epoch ms), e.g. the same time on every shard agent',
  },
  {
    key: 'connections',
    flag: 'connections',
    type: 'enum',
    values: ['per-thread', 'per-device'],
    profilePath: ['connections'],
    help: 'MQTT connections of the devices: one multiplexed connection per simulator thread, or one per device as real collars connect',
  },
  {
    key: 'sourceAddresses',
    flag: 'source-addresses',
    type: 'int',
    min: 1,
    max: 250,
    profilePath: ['sourceAddresses'],
    help: 'with --connections per-device to a loopback broker: spread the connections over 127.0.0.1, 127.0.0.2, … (about 28k ephemeral ports each)',
  },
  {
    key: 'maxCeiling',
    flag: 'max-ceiling',
    type: 'number',
    min: 1,
    max: 1e6,
    profilePath: ['max', 'ceiling'],
    help: 'search for the highest offered rate at which every property holds, from --rate up to this (the max profile sets it): steps ×2, then a binary search',
  },
  {
    key: 'maxResolution',
    flag: 'max-resolution',
    type: 'number',
    min: 1,
    max: 1e6,
    profilePath: ['max', 'resolution'],
    help: 'max search: stop when the highest passing and lowest failing rates are this close (readings/s)',
  },
  {
    key: 'maxBudgetSeconds',
    flag: 'max-budget',
    type: 'number',
    min: 1,
    max: 7 * 24 * 3600,
    profilePath: ['max', 'budgetSeconds'],
    help: 'max search: start no new step after this many seconds',
  },
]
