#!/usr/bin/env bash
# kafka_bench.sh -- Kafka ingest throughput and produce->visible freshness of c360.
#
#   bench/kafka_bench.sh [--events N] [--users U] [--probes P] [--bin PATH]
#
# Starts a librdkafka mock cluster (tests/kafka/mock_cluster, 3 brokers) and `c360 serve --kafka`,
# produces N Segment track events with kcat (pre-produced, so the measure is c360's consumption),
# and times from the first consumed message until all N are accepted (the server's start and the
# group join are not counted). Then sends P probe events one by one through one connected
# producer, each for a fresh user, and polls GET /v1/profiles/user_id:<probe> until it answers
# 200: the time from produce to visible. Defaults: N=200000, U=10000, P=50, bin=build/c360.
#
# Output: one JSON object on the last line of stdout, e.g.
#   {"bench":"kafka","events":200000,"seconds":1.9,"events_per_s":105263,
#    "freshness_ms":{"p50":12.1,"p99":30.5,"samples":50}}
# Progress goes to stderr. Exit status 0 on success.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=200000 U=10000 P=50 BIN="$repo/build/c360"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) N=$2; shift 2 ;;
    --users) U=$2; shift 2 ;;
    --probes) P=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    *) echo "kafka_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v kcat >/dev/null || { echo "kafka_bench: kcat is required (scripts/install-deps)" >&2; exit 1; }
work=$(mktemp -d)
helpers="$work/helpers"
make -s -C "$repo/tests/kafka" OUT="$helpers" >&2
make -s -C "$repo/bench" OUT="$helpers" "$helpers/kafkaprobe" >&2
cleanup() {
  [[ -n "${c360_pid:-}" ]] && kill "$c360_pid" 2>/dev/null && wait "$c360_pid" 2>/dev/null || true
  [[ -n "${mock_pid:-}" ]] && kill "$mock_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/ctl"
"$helpers/mock_cluster" --topic bench:8 --topic probe:1 < "$work/ctl" > "$work/mock.out" &
mock_pid=$!
exec 9> "$work/ctl"
for _ in $(seq 100); do [[ -s "$work/mock.out" ]] && break; sleep 0.1; done
B=$(head -1 "$work/mock.out" | cut -d' ' -f2)

echo "kafka_bench: producing $N events" >&2
# keyed by user, so the partitions fill evenly (the mock cluster keeps about 5 MB per partition
# and drops older messages beyond that)
awk -v n="$N" -v u="$U" 'BEGIN { for (i = 0; i < n; i++) printf "b%d\t{\"type\":\"track\",\"userId\":\"b%d\",\"event\":\"Bench\",\"messageId\":\"m%d\",\"properties\":{\"i\":%d}}\n", i % u, i % u, i, i }' \
  | kcat -P -b "$B" -t bench -K '\t' -X linger.ms=20 -X batch.num.messages=10000

port=$("$repo/bench/free-port")
url="http://127.0.0.1:$port"
"$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --write-key w --admin-key a \
  --kafka "$B" --kafka-topics bench,probe --log-level warn 2> "$work/c360.log" &
c360_pid=$!
metric() { curl -s -H 'Authorization: Bearer a' "$url/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# the clock starts with the first consumed message (not with the server's start and group join)
while :; do
  got0=$(metric c360_kafka_messages_total || true)
  [[ "${got0:-0}" -gt 0 ]] && break
  kill -0 "$c360_pid" 2>/dev/null || { echo "kafka_bench: c360 exited" >&2; cat "$work/c360.log" >&2; exit 1; }
  sleep 0.01
done
t0=$(date +%s.%N)
while :; do
  got=$(metric c360_kafka_messages_total || true)
  acc=$(metric c360_events_accepted_total || true)
  [[ "${acc:-0}" -ge "$N" ]] && break
  kill -0 "$c360_pid" 2>/dev/null || { echo "kafka_bench: c360 exited" >&2; cat "$work/c360.log" >&2; exit 1; }
  sleep 0.05
done
t1=$(date +%s.%N)
echo "kafka_bench: consumed ${got:-?} messages" >&2

# freshness: bench/kafkaprobe keeps one producer connected and polls the profile API
probe=$("$helpers/kafkaprobe" "$B" probe 127.0.0.1 "$port" a "$P")
echo "$probe" >&2
pct() { echo "$probe" | sed -n "s/.*p$1_us=\([0-9]*\).*/\1/p" | awk '{ printf "%.1f", $1 / 1000 }'; }
secs=$(echo "$t1 - $t0" | bc -l)
rate=$(echo "($N - $got0) / $secs" | bc)
printf '{"bench":"kafka","events":%d,"seconds":%.2f,"events_per_s":%d,"freshness_ms":{"p50":%s,"p99":%s,"samples":%d}}\n' \
  "$N" "$secs" "$rate" "$(pct 50)" "$(pct 99)" "$P"
