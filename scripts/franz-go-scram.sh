#!/usr/bin/env bash
# Runs franz-go's own SCRAM tests (pkg/kgo: TestSCRAMAuth, TestSCRAMAuthBadCredentials) against
# a `rivulet broker` with a SASL_PLAINTEXT listener, once with SCRAM-SHA-256 and once with
# SCRAM-SHA-512. The credentials are created with `rivulet configs`, as kafka-configs.sh would.
# franz-go's test helpers read KGO_SEEDS, KGO_TEST_SCRAM_SEEDS and KGO_TEST_SCRAM=user:pass:bits.
# Fails if either test fails or is skipped. Called by `make test`.
set -euo pipefail

GO="${GO:-go}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf 'franz-go-scram: %s\n' "$*" >&2; }

cd "$root"
say "building rivulet"
"$GO" build -o "$work/rivulet" ./cmd/rivulet

"$work/rivulet" broker \
	--override "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0" \
	--override "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512" \
	--override "log.dirs=$work/data" \
	--override "group.initial.rebalance.delay.ms=0" >"$work/broker.log" 2>&1 &
pid=$!

plain="" sasl=""
for _ in $(seq 1 300); do
	line="$(grep -o 'listeners=[^ ]*' "$work/broker.log" || true)"
	if [ -n "$line" ]; then
		plain="$(printf '%s' "$line" | grep -o 'PLAINTEXT(PLAINTEXT)=[0-9.:]*' | cut -d= -f2)"
		sasl="$(printf '%s' "$line" | grep -o 'SASL_PLAINTEXT(SASL_PLAINTEXT)=[0-9.:]*' | cut -d= -f2)"
		break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$work/broker.log" >&2
		say "rivulet broker exited"
		exit 1
	fi
	sleep 0.1
done
if [ -z "$plain" ] || [ -z "$sasl" ]; then
	cat "$work/broker.log" >&2
	say "rivulet broker did not report its listeners"
	exit 1
fi
say "broker: PLAINTEXT $plain, SASL_PLAINTEXT $sasl"

"$work/rivulet" configs --bootstrap-server "$plain" --alter --entity-type users --entity-name kgo256 \
	--add-config 'SCRAM-SHA-256=[iterations=8192,password=kgo256-secret]'
"$work/rivulet" configs --bootstrap-server "$plain" --alter --entity-type users --entity-name kgo512 \
	--add-config 'SCRAM-SHA-512=[password=kgo512-secret]'

status=0
for spec in kgo256:kgo256-secret:256 kgo512:kgo512-secret:512; do
	say "franz-go pkg/kgo SCRAM tests with KGO_TEST_SCRAM=${spec%%:*}:***:${spec##*:}"
	out="$work/kgo-${spec##*:}.log"
	if ! KGO_SEEDS="$plain" KGO_TEST_SCRAM_SEEDS="$sasl" KGO_TEST_SCRAM="$spec" \
		"$GO" test -count=1 -v -run '^TestSCRAMAuth' github.com/twmb/franz-go/pkg/kgo >"$out" 2>&1; then
		cat "$out" >&2
		status=1
		continue
	fi
	for t in TestSCRAMAuth TestSCRAMAuthBadCredentials; do
		if ! grep -q -- "--- PASS: $t " "$out"; then
			cat "$out" >&2
			say "$t did not pass (skipped?)"
			status=1
		fi
	done
	grep -E -- '--- (PASS|FAIL|SKIP)' "$out" >&2 || true
done
if [ "$status" -ne 0 ]; then
	say "broker log:"
	cat "$work/broker.log" >&2
	exit 1
fi
say "ok"
