#!/usr/bin/env bash
# Builds a pinned Telegraf with only the plugins the example needs (mqtt_consumer, json_v2,
# outputs.postgresql) from the Go module proxy, with Telegraf's own build tags (`custom` turns every
# plugin off; each `inputs.x` tag turns one back on — plugins/*/all/*.go in Telegraf's source).
# Cached under ~/.cache/iotbench/telegraf-<version>/: a second call returns at once. Measured on the
# 2 cores under load: 7 m 51 s cold (modules already in the Go cache: about 1 min less).
# Prints the binary's path on its last line. Needs Go >= 1.25.5 (the module's go.mod) on PATH.
set -euo pipefail

VERSION="${IOTBENCH_TELEGRAF_VERSION:-v1.37.2}"
TAGS="custom,inputs.mqtt_consumer,parsers.json_v2,outputs.postgresql"
CACHE="${IOTBENCH_CACHE:-$HOME/.cache/iotbench}/telegraf-${VERSION}"
BIN="$CACHE/bin/telegraf"

# The version stamped as Telegraf's own Makefile does, so `telegraf --version` names it.
LDFLAGS="-s -w -X github.com/influxdata/telegraf/internal.Version=${VERSION#v}"
STAMP="$TAGS $LDFLAGS"

if [[ -x "$BIN" ]] && [[ "$(cat "$CACHE/stamp" 2>/dev/null)" == "$STAMP" ]]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "go not found: building Telegraf needs Go >= 1.25.5 on PATH" >&2; exit 1; }
mkdir -p "$CACHE/bin"
start=$SECONDS
# go install module@version: no checkout, no replace directives in Telegraf's go.mod, sums checked
# against the module proxy's checksum database. Progress to stderr so stdout stays the path.
GOBIN="$CACHE/bin" CGO_ENABLED=0 go install -trimpath -ldflags "$LDFLAGS" -tags "$TAGS" \
  "github.com/influxdata/telegraf/cmd/telegraf@${VERSION}" >&2
echo "$STAMP" >"$CACHE/stamp"
echo "built Telegraf ${VERSION} (${TAGS}) in $((SECONDS - start)) s" >&2
"$BIN" --version >&2
echo "$BIN"
