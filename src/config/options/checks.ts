import { FAULT_HOOK_NAMES, FAULT_HOOK_PATTERN } from '../../faults/ingest-hook.js'
import type { OptionSpec } from '../option-spec.js'

/** What the verifier checks beyond P1–P3: test-only fault hooks, dashboards, bad input, alert and rate SLOs. */
export const CHECKS_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'faultHook',
    flag: 'fault-hook',
    type: 'string',
    pattern: FAULT_HOOK_PATTERN,
    patternHelp: `name=N,… with names ${FAULT_HOOK_NAMES.join(', ')}`,
    hidden: true,
    help: 'test only: make the ingest drop, duplicate, reorder or corrupt readings, stall a commit, drop, invent or delay alerts, reject valid readings, or keep readings from the live feed (see src/faults/ingest-hook.ts)',
  },
  {
    key: 'dashboards',
    flag: 'dashboards',
    type: 'string',
    help: 'folder of Grafana dashboard JSON files whose SQL panels P8 runs against the run and compares with the oracle (default: dashboards/grafana/dashboards)',
  },
  {
    key: 'badInput',
    flag: 'bad-input',
    type: 'int',
    min: 0,
    max: 1_000_000,
    profilePath: ['badInput'],
    help: 'malformed messages the simulators inject on telemetry topics (P7: each must land in dead_letters with its reason)',
  },
  {
    key: 'sloAlertRecall',
    flag: 'slo-alert-recall',
    type: 'number',
    min: 0,
    max: 1,
    profilePath: ['slo', 'alertRecall'],
    help: 'P5 fails when fewer detectable injected anomalies than this share raised their alert in time',
  },
  {
    key: 'sloAlertPrecision',
    flag: 'slo-alert-precision',
    type: 'number',
    min: 0,
    max: 1,
    profilePath: ['slo', 'alertPrecision'],
    help: 'P5 fails when fewer alerts than this share map to an injected anomaly (or the rule’s condition)',
  },
  {
    key: 'sloDetectionP99Ms',
    flag: 'slo-detection-p99-ms',
    type: 'number',
    min: 1,
    max: 86_400_000,
    profilePath: ['slo', 'detectionP99Ms'],
    help: 'P5 fails when the wall-clock detection delay p99 (intended send of the triggering reading → alert) exceeds this (ms); default: --slo-p99-ms',
  },
  {
    key: 'sloRateTolerance',
    flag: 'slo-rate-tolerance',
    type: 'number',
    min: 0,
    max: 1,
    profilePath: ['slo', 'rateTolerance'],
    help: 'P6 fails when the achieved send or ingest rate is below the offered rate × this',
  },
]
