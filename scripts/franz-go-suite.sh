#!/usr/bin/env bash
# Runs franz-go's own pkg/kgo transaction tests (TestTxnEtl, TestGroupETL and the other
# tests matching Txn|Transact|EOS|GroupETL) against a `rivulet broker` started here on a
# free port with a temporary data directory. The franz-go module comes from the module
# cache (the version go.mod requires) and is copied somewhere writable first.
#
# Environment: KGO_TEST_RECORDS (records each ETL test produces; default 50000, franz-go's
# own default is 500000), FRANZ_GO_RUN (the -run pattern), FRANZ_GO_TIMEOUT (go test's
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

# A free port: bind to port 0, read the port the kernel picked, release it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
echo "== starting rivulet broker on 127.0.0.1:$port"
"$work/rivulet" broker --log-level warn \
	--override "listeners=PLAINTEXT://127.0.0.1:$port" \
	--override "log.dirs=$work/data" \
	--override "group.initial.rebalance.delay.ms=0" \
	>"$work/broker.log" 2>&1 &
broker_pid=$!

deadline=$((SECONDS + 60))
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
	if ! kill -0 "$broker_pid" 2>/dev/null; then
		echo "rivulet broker exited:"; cat "$work/broker.log"; exit 1
	fi
	if [ $SECONDS -ge $deadline ]; then
		echo "rivulet broker did not listen within 60s"; cat "$work/broker.log"; exit 1
	fi
	sleep 0.2
done

echo "== go test ./pkg/kgo -run '${FRANZ_GO_RUN:-Txn|Transact|EOS|GroupETL}'"
status=0
(
	cd "$work/franz-go"
	KGO_SEEDS="127.0.0.1:$port" KGO_TEST_RF=1 KGO_TEST_RECORDS="${KGO_TEST_RECORDS:-50000}" \
		GOFLAGS=-mod=mod $GO test ./pkg/kgo -run "${FRANZ_GO_RUN:-Txn|Transact|EOS|GroupETL}" \
		-count=1 -timeout "${FRANZ_GO_TIMEOUT:-8m}" -v 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic|\s+\S+_test.go)' || true
	exit "${PIPESTATUS[0]}"
) || status=$?
if [ $status -ne 0 ]; then
	echo "== franz-go transaction tests failed; broker log tail:"
	tail -n 50 "$work/broker.log"
fi
exit $status
