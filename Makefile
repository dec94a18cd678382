# ClaudeBench — see README.md. `make run` builds and starts cbd; `make test`
# runs the whole suite (it first installs/starts redis-server and PostgreSQL
# when they are missing and it may: see .ci/setup).

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/claudebench/cb/protocol.Version=$(VERSION)
BUILD     := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
STATICCHECK_VERSION := v0.8.2

.PHONY: all build run test lint fuzz bench docs clean

all: build

## build: cb (the lean hook binary), cb-cli (every other cb command; cb
## hands over to it, so keep them side by side) and cbd, into bin/.
build:
	$(BUILD) -o $(BIN)/cb ./cmd/cb
	$(BUILD) -o $(BIN)/cb-cli ./cmd/cb-cli
	$(BUILD) -o $(BIN)/cbd ./cmd/cbd

## run: build, then start cbd in the foreground with its embedded defaults.
run: build
	./$(BIN)/cbd

## test: the whole suite, with the race detector.
test:
	@bash .ci/setup
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	. ./.ci/env && $(GO) test -race -count=1 -timeout 20m ./...

## lint: gofmt, go vet and staticcheck.
lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## fuzz: a short run of every fuzz target (a test in internal/gendocs keeps this list whole).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseHookInput -fuzztime 30s ./hookcli/bridge
	$(GO) test -run '^$$' -fuzz FuzzRESPReply -fuzztime 30s ./internal/resp
	$(GO) test -run '^$$' -fuzz FuzzParseLeanURL -fuzztime 30s ./hookcli/bridge
	$(GO) test -run '^$$' -fuzz FuzzReadConfigLean -fuzztime 30s -fuzzminimizetime 200x ./hookcli/bridge
	$(GO) test -run '^$$' -fuzz FuzzParseEmitLine -fuzztime 30s ./hookcli/cli/emit
	$(GO) test -run '^$$' -fuzz FuzzCallReply -fuzztime 30s ./hookcli/cli/emit
	$(GO) test -run '^$$' -fuzz FuzzSplitBash -fuzztime 30s ./daemon/policy/shell
	$(GO) test -run '^$$' -fuzz FuzzAnalyzeBash -fuzztime 30s ./daemon/policy/shell
	$(GO) test -run '^$$' -fuzz FuzzIntegral -fuzztime 30s ./internal/jsonint
	$(GO) test -run '^$$' -fuzz FuzzParseMessage -fuzztime 30s ./daemon/httpapi
	$(GO) test -run '^$$' -fuzz FuzzParseOwner -fuzztime 30s ./daemon/lifecycle
	$(GO) test -run '^$$' -fuzz FuzzEventDeadline -fuzztime 30s ./protocol
	$(GO) test -run '^$$' -fuzz FuzzDecodeEvent -fuzztime 30s ./protocol
	$(GO) test -run '^$$' -fuzz FuzzFastPathAgrees -fuzztime 30s ./schemas/validate
	$(GO) test -run '^$$' -fuzz FuzzResolveDuplicates -fuzztime 30s ./daemon/hookrules
	$(GO) test -run '^$$' -fuzz FuzzCheckAttachment -fuzztime 30s ./daemon/tasks
	$(GO) test -run '^$$' -fuzz FuzzPayload -fuzztime 30s ./daemon/eventcap

## bench: latency and throughput against baselines measured in the same run.
bench:
	@bash .ci/setup
	. ./.ci/env && $(GO) test -run "^$$" -bench . -benchtime 300x -count 1 -timeout 3h ./e2e

## docs: regenerate what comes from the config struct (protocol/config_fields.go)
## and the README tables.
docs:
	$(GO) test ./protocol -run ConfigFieldsGenerated -update
	$(GO) run ./internal/gendocs -w README.md

clean:
	rm -rf $(BIN)
