# Rivulet's one task runner. `make test` is the command README.md gives and .ci/run calls.

GO        ?= go
GOBIN     := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN),)
GOBIN     := $(shell $(GO) env GOPATH)/bin
endif
STATICCHECK := $(GOBIN)/staticcheck
# How long each fuzz target runs in `make fuzz-smoke` (CI runs every target briefly).
FUZZTIME  ?= 10s
# Upper bound for the whole test run; the suite should stay well under it on 2 cores.
TESTTIMEOUT ?= 25m

.PHONY: all build test tools lint unit franz-go-suite franz-go-scram fuzz-smoke bench demo clean

all: build

build:
	$(GO) build ./...

## test: install tools, lint, run every test with the race detector, franz-go's own integration
## tests (all of pkg/kgo, SCRAM included) against `rivulet broker`, then each fuzz target briefly.
test: tools lint unit franz-go-suite franz-go-scram fuzz-smoke

tools:
	@bash scripts/install-tools.sh

lint:
	@echo "== gofmt"; out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== staticcheck"; $(STATICCHECK) ./...

unit:
	$(GO) test -race -timeout $(TESTTIMEOUT) ./...

## franz-go-suite: franz-go's pkg/kgo integration tests against a `rivulet broker` (scripts/franz-go-suite.sh).
franz-go-suite:
	@GO=$(GO) bash scripts/franz-go-suite.sh

## franz-go-scram: franz-go's own pkg/kgo SCRAM tests against a `rivulet broker` (scripts/franz-go-scram.sh).
franz-go-scram:
	@GO=$(GO) bash scripts/franz-go-scram.sh

## fuzz-smoke: runs every Fuzz* target for FUZZTIME, one at a time (scripts/fuzz-smoke.sh says how it treats Go's fuzz deadline flake).
fuzz-smoke:
	@GO=$(GO) bash scripts/fuzz-smoke.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo:
	$(GO) run ./cmd/rivulet demo wordcount

clean:
	rm -rf rivulet testdata/fuzz-cache
