# chansync: make demo, make test, make bench.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
CMDS  := worker enqueue channelsim apihubsim datagen

.PHONY: all build demo demo-up test test-short generate generate-check vet fmt-check fuzz bench chaos clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The demo: finds or starts a Postgres, loads a sample data set, runs the
# simulator and a worker, syncs everything, prints what happened.
demo: build
	scripts/demo.sh

# The demo, left running: the simulators, a worker and the status page stay
# up (the page's address and a login token are printed) until Ctrl-C.
demo-up: build
	scripts/demo.sh --up

# Regenerate the sqlc query layer after editing db/queries or db/schema.
generate:
	$(GO) tool sqlc generate

# Fails when the committed generated code is stale.
generate-check:
	$(GO) tool sqlc diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The whole suite against a real Postgres (found or started by
# scripts/ensure-postgres.sh), with the race detector, then each fuzz
# target briefly.
test: generate-check fmt-check vet build
	@url=$$(scripts/ensure-postgres.sh) && \
	TEST_DATABASE_URL="$$url" CHANSYNC_BIN="$(CURDIR)/$(BIN)" $(GO) test -race -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory fuzz

# Each fuzz target runs for a number of inputs (20,000: 1 to 8 s here), not
# a duration: with -fuzztime=<duration>, Go up to 1.26 can fail a target
# with a bare "context deadline exceeded" when its time runs out under load
# (golang/go#75804), which is no finding. A longer run: make fuzz
# FUZZTIME=1000000x, or a duration if a spurious failure is acceptable.
FUZZTIME ?= 20000x
FUZZLOG := $(BIN)/fuzz.log
fuzz:
	@mkdir -p $(BIN)
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) $$pkg >$(FUZZLOG) 2>&1 || { cat $(FUZZLOG); echo "FAIL: fuzz $$pkg $$f"; exit 1; }; \
	  done; \
	done

# The chaos suite at full size (CHAOS=full): at least 5,000 records per
# scenario, real worker processes against Postgres and the simulator, with
# faults in the channel, the processes and the database. `make test` runs a
# reduced version of it.
chaos: build
	@url=$$(scripts/ensure-postgres.sh) && \
	CHAOS=full TEST_DATABASE_URL="$$url" CHANSYNC_BIN="$(CURDIR)/$(BIN)" $(GO) test -count=1 -timeout 60m -v ./internal/chaos

bench: build
	scripts/bench.sh

clean:
	rm -rf $(BIN)
	scripts/stop-postgres.sh || true
