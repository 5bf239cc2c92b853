#!/usr/bin/env bash
# Runs franz-go's own pkg/kgo integration tests (all of them: producing, consuming, groups,
# transactions, admin requests; TestTxnEtl and TestGroupETL among them) against a `rivulet
# broker` started here on a free port with a temporary data directory. Tests of features the
# broker does not offer (KIP-848 consumer groups, share groups) skip themselves; the SCRAM
# tests need their own listener and run from scripts/franz-go-scram.sh. The franz-go module
# comes from the module cache (the version go.mod requires) and is copied somewhere writable
# first.
#
# Environment: KGO_TEST_RECORDS (records each ETL test produces; default 50000, franz-go's
# own default is 500000), FRANZ_GO_RUN (the -run pattern, default every test; for the
# transaction tests alone, 'Txn|Transact|EOS|GroupETL'), FRANZ_GO_TIMEOUT (go test's
# -timeout, default 8m).
set -euo pipefail

GO=${GO:-go}
cd "$(dirname "$0")/.."
root=$(pwd)
version=$($GO list -m -f '{{.Version}}' github.com/twmb/franz-go)
modcache=$($GO env GOMODCACHE)
src="$modcache/github.com/twmb/franz-go@$version"
if [ ! -d "$src" ]; then
	$GO mod download github.com/twmb/franz-go
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/franz-go-suite.XXXXXX")
broker_pid=""
cleanup() {
	if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
		kill "$broker_pid" 2>/dev/null || true
		wait "$broker_pid" 2>/dev/null || true
	fi
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== building rivulet"
$GO build -o "$work/rivulet" ./cmd/rivulet

echo "== copying franz-go $version"
cp -r "$src" "$work/franz-go"
chmod -R u+w "$work/franz-go"

echo "== starting rivulet broker"
# The log exists before the broker starts: the background job opens it on its own time,
# and the wait below reads it at once.
: >"$work/broker.log"
"$work/rivulet" broker --log-level warn \
	--override "listeners=PLAINTEXT://127.0.0.1:0" \
	--override "log.dirs=$work/data" \
	--override "group.initial.rebalance.delay.ms=0" \
	>"$work/broker.log" 2>&1 &
broker_pid=$!

# The broker picks a free port and prints it: "rivulet broker listening on 127.0.0.1:N ...".
deadline=$((SECONDS + 60))
addr=""
while [ -z "$addr" ]; do
	addr=$(sed -n 's/^rivulet broker listening on \([^ ]*\).*/\1/p' "$work/broker.log" | head -n 1)
	[ -n "$addr" ] && break
	if ! kill -0 "$broker_pid" 2>/dev/null; then
		echo "rivulet broker exited:"; cat "$work/broker.log"; exit 1
	fi
	if [ $SECONDS -ge $deadline ]; then
		echo "rivulet broker did not listen within 60s"; cat "$work/broker.log"; exit 1
	fi
	sleep 0.2
done
echo "== rivulet broker listening on $addr"

echo "== go test ./pkg/kgo -run '${FRANZ_GO_RUN:-.}'"
status=0
(
	cd "$work/franz-go"
	KGO_SEEDS="$addr" KGO_TEST_RF=1 KGO_TEST_RECORDS="${KGO_TEST_RECORDS:-50000}" \
		GOFLAGS=-mod=mod $GO test ./pkg/kgo -run "${FRANZ_GO_RUN:-.}" \
		-count=1 -timeout "${FRANZ_GO_TIMEOUT:-8m}" -v >"$work/kgo.log" 2>&1
) || status=$?
grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)' "$work/kgo.log" || true
if [ $status -ne 0 ]; then
	echo "== franz-go tests failed; test output tail:"
	tail -n 100 "$work/kgo.log"
	echo "== broker log tail:"
	tail -n 50 "$work/broker.log"
fi
exit $status
