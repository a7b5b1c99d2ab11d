#!/usr/bin/env bash
# Starts a single-node Apache Kafka 4.4 (KRaft combined mode) on loopback from Maven Central jars:
# no docker, no tarball. Idempotent: does nothing when the broker already answers.
#   KAFKA_PORT (default 19092), KAFKA_HOME (default ~/.cache/iotbench/kafka-4.4.0)
# Prints the bootstrap address (127.0.0.1:PORT) as its last line.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT=$((PORT + 1))
KAFKA_HOME="${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/iotbench/kafka-4.4.0}"
LIBS="$KAFKA_HOME/libs"
RUN="$KAFKA_HOME/run-$PORT"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if listening "$PORT"; then
  echo "kafka already listening on 127.0.0.1:$PORT" >&2
  echo "127.0.0.1:$PORT"
  exit 0
fi
command -v java >/dev/null || { echo "java not found: Kafka needs Java 17+" >&2; exit 1; }

if [[ ! -f "$LIBS/.complete" ]]; then
  command -v mvn >/dev/null || { echo "mvn not found: needed once to fetch the Kafka jars from Maven Central" >&2; exit 1; }
  echo "fetching Kafka 4.4.0 jars from Maven Central into $LIBS" >&2
  rm -rf "$LIBS" && mkdir -p "$LIBS"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" >&2
  touch "$LIBS/.complete"
fi

rm -rf "$RUN" && mkdir -p "$RUN/data"
# One node: every replication factor and min-ISR is 1 (the share-group coordinator's too, 4.4 enables
# share groups); no initial rebalance delay, so a consumer group's first join is quick.
cat > "$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN/data
num.partitions=4
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
cp "$HERE/log4j2.yaml" "$RUN/log4j2.yaml"

CLUSTER_ID="$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
java -cp "$LIBS/*" -Dlog4j2.configurationFile="$RUN/log4j2.yaml" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$RUN/server.properties" >&2

nohup setsid java -Xms256m -Xmx512m -XX:+UseG1GC -Dlog4j2.configurationFile="$RUN/log4j2.yaml" \
  -cp "$LIBS/*" kafka.Kafka "$RUN/server.properties" > "$RUN/kafka.log" 2>&1 &
echo $! > "$RUN/kafka.pid"

deadline=$((SECONDS + 60))
until listening "$PORT"; do
  if ! kill -0 "$(cat "$RUN/kafka.pid")" 2>/dev/null; then
    echo "kafka exited during start; last lines of $RUN/kafka.log:" >&2
    tail -n 30 "$RUN/kafka.log" >&2
    exit 1
  fi
  if ((SECONDS > deadline)); then
    echo "kafka did not listen on 127.0.0.1:$PORT within 60 s; see $RUN/kafka.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "kafka listening on 127.0.0.1:$PORT (pid $(cat "$RUN/kafka.pid"), log $RUN/kafka.log)" >&2
echo "127.0.0.1:$PORT"
