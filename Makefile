# voxdesk: two commands matter.
#   make run   build and start the switch on its embedded defaults
#   make test  run every test (installs SIPp, Chromium, PostgreSQL and the model when missing)

GO        ?= go
BIN       := bin/voxdesk
MODEL_DIR ?= .cache/models/vosk-model-spk-0.4
CONFIG    ?= examples/voxdesk.yaml
export VOXDESK_SPEECH ?= $(abspath ../shared/speech)

.PHONY: run test build deps model vet bench clean

build:
	$(GO) build -o $(BIN) ./cmd/voxdesk

deps:
	@scripts/install-deps.sh

model: build
	@test -f $(MODEL_DIR)/final.ext.raw || $(BIN) model fetch --dir $(MODEL_DIR)

# The demo keeps its voiceprint key beside its database (var/, ignored by
# git); a real deployment passes VOXDESK_VOICEPRINT_KEY from its secret store.
var/voiceprint.key:
	@mkdir -p var && umask 077 && head -c 32 /dev/urandom | base64 > $@ && echo "new demo voiceprint key in $@"

# The demo's customers' phone: a SIPp UAS on the example trunk's proxy
# address (examples/voxdesk.yaml, sip.trunks local proxy) answers every
# call-back and echoes the agent's voice; it runs as long as the switch.
DEMO_PHONE_PORT ?= 5070

run: deps model var/voiceprint.key
	@mkdir -p var; \
	sipp -sn uas -rtp_echo -i 127.0.0.1 -p $(DEMO_PHONE_PORT) -mi 127.0.0.1 -mp 6070 -nostdin \
	  -trace_err -error_file var/demo-phone-errors.log >/dev/null 2>&1 & phone=$$!; \
	trap 'kill $$phone 2>/dev/null; wait $$phone 2>/dev/null' EXIT INT TERM; \
	echo "demo customers' phone: SIPp UAS on 127.0.0.1:$(DEMO_PHONE_PORT), pid $$phone (answers call-backs, stops with the switch)"; \
	VOXDESK_VOICEPRINT_KEY=$${VOXDESK_VOICEPRINT_KEY:-$$(cat var/voiceprint.key)} $(BIN) serve --config $(CONFIG)

vet:
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo 'go.mod is not tidy: run go mod tidy'; exit 1; }

test: deps model vet
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -timeout 5m -tags purego ./voiceprint/...

bench: deps model
	VOXDESK_BENCH=1 $(GO) test -run '^$$' -bench . -benchtime 1x ./bench/...

clean:
	rm -rf bin
