#!/usr/bin/env bash
# Installs what the tests and checks need on a fresh machine, and nothing that is already there:
#   - kcat (Debian package), for the librdkafka conformance tests against brokerlite;
#   - chromium (Debian package), for the web console's browser test (headless);
#   - staticcheck (Go module proxy), for `make lint`;
#   - Node.js and npm (Debian packages), then KafkaJS (npm registry, pinned by
#     internal/kafkajstest/js/package-lock.json), for the KafkaJS conformance test.
# Safe to run again: each tool is checked before it is installed.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2

say() { printf 'install-tools: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		say "need root to run: $*  (run this script as root, or install sudo)"
		return 1
	fi
}

apt_updated=0
apt_install() {
	if ! command -v apt-get >/dev/null 2>&1; then
		say "apt-get not found; install these packages with your system's package manager: $*"
		return 1
	fi
	if [ "$apt_updated" -eq 0 ]; then
		say "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	say "apt-get install $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if command -v kcat >/dev/null 2>&1; then
	say "kcat present: $(command -v kcat)"
else
	apt_install kcat
fi

if command -v chromium >/dev/null 2>&1; then
	say "chromium present: $(command -v chromium)"
else
	apt_install chromium
fi

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	say "node present: $(command -v node) ($(node --version))"
else
	apt_install nodejs npm
fi

kafkajs_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/internal/kafkajstest/js"
if [ -f "$kafkajs_dir/node_modules/kafkajs/package.json" ]; then
	say "KafkaJS present in $kafkajs_dir"
else
	say "npm ci in $kafkajs_dir (KafkaJS)"
	(cd "$kafkajs_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if [ -x "$gobin/staticcheck" ] || command -v staticcheck >/dev/null 2>&1; then
	say "staticcheck present"
else
	say "go install honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
