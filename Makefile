# Stageflow — every task a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
TOOLS     := $(CURDIR)/tools/bin
DATA_DIR  ?= .stageflow
ONCE_DIR  ?= .stageflow-once
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
FUZZTIME  ?= 60s

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

# DynamoDB Local (AWS's own emulator) for the DynamoDB store's tests: the jar
# of the npm package amplify-dynamodb-simulator, checked against this SHA-256
# of its tarball and cached under tools/. Tests find it through
# STAGEFLOW_DYNAMODB_LOCAL_JAR (default: this path).
DYNAMODB_LOCAL_VERSION := 2.9.30
DYNAMODB_LOCAL_SHA256  := 3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
DYNAMODB_LOCAL_DIR     := $(CURDIR)/tools/dynamodb-local-$(DYNAMODB_LOCAL_VERSION)
export STAGEFLOW_DYNAMODB_LOCAL_JAR := $(DYNAMODB_LOCAL_DIR)/DynamoDBLocal.jar

.PHONY: help build run run-once system-deps js-deps dynamodb-local test test-race test-unit test-integration lint deps fuzz bench clean screenshot \
	build-lambdas cdk-cli synth deploy rie

help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps: ## download Go modules (idempotent)
	$(GO) mod download

build: deps ## build bin/stageflow
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/stageflow ./cmd/stageflow

ADDR ?= 127.0.0.1:8480

run: build ## build and start the local server with the examples loaded, three of them started, own-code on this repository (polled: a commit to main starts it)
	./$(BIN)/stageflow serve --addr $(ADDR) --data-dir $(DATA_DIR) --load examples --local-connection stageflow-examples=$(CURDIR) \
	  --start hello --start build-test-deploy --start own-code

run-once: build ## run the example pipelines once without a server (stageflow run), in their own data dir
	./$(BIN)/stageflow run --data-dir $(ONCE_DIR) examples/hello.json
	@if [ -t 0 ] && [ -t 1 ]; then \
	  ./$(BIN)/stageflow run --data-dir $(ONCE_DIR) examples/build-test-deploy.json; \
	else \
	  ./$(BIN)/stageflow run --data-dir $(ONCE_DIR) --approve examples/build-test-deploy.json; \
	fi

test: deps lint system-deps js-deps dynamodb-local rie ## every test: lint, unit, integration (SQLite and DynamoDB Local stores, both HTTP doors with the AWS SDK and the AWS CLI, the Step Functions state machine)
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-race
	@echo "make test: all checks passed"

test-race: deps ## the concurrent packages again under the race detector
	$(GO) test -race -count=1 -short ./shared/engine ./shared/runner ./shared/sfn/... ./shared/store ./shared/store/sqlite ./shared/store/storetest ./shared/api/... ./cmd/stageflow

test-unit: deps js-deps ## the fast Go tests (-short: skips the AWS CLI round trip)
	$(GO) test -count=1 -short ./...

system-deps: ## install the system tools tests use (jq, chromium for the console's browser tests), if missing
	@command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	@command -v aws >/dev/null || echo "note: the AWS CLI is not installed; the AWS CLI round-trip test will be skipped, and the API fidelity tests (which read the definition its botocore ships) will fail"

# The JavaScript tools the tests run (tools/js): asl-validator and the
# aws-local-stepfunctions interpreter of the Step Functions test bridge.
# Installed from the committed lockfile, again only when it changes.
JS_DIR := tools/js
js-deps: $(JS_DIR)/node_modules/.stageflow-installed ## install the JavaScript test tools (npm ci in tools/js; cached)

$(JS_DIR)/node_modules/.stageflow-installed: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "js-deps: Node.js 20 or later and npm are needed"; exit 1; }
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dynamodb-local: $(STAGEFLOW_DYNAMODB_LOCAL_JAR) ## install DynamoDB Local (and Java if missing) under tools/, once

$(STAGEFLOW_DYNAMODB_LOCAL_JAR):
	scripts/dynamodb-local.sh $(DYNAMODB_LOCAL_DIR) $(DYNAMODB_LOCAL_VERSION) $(DYNAMODB_LOCAL_SHA256)

lint: deps $(TOOLS)/staticcheck ## gofmt check, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fuzz: ## run the pipeline loader fuzz target for FUZZTIME (default 60s)
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./shared/pipeline

# The console's browser tests (cmd/stageflow/console_browser_test.go) save
# their screenshots into test-screenshots/; this keeps the pipeline view's
# as the README's image.
screenshot: deps system-deps ## regenerate docs/console-pipeline.png from the console's browser test
	@mkdir -p docs
	STAGEFLOW_CONSOLE_SCREENSHOT=$(CURDIR)/docs/console-pipeline.png $(GO) test -count=1 -run '^TestConsoleBrowser$$' ./cmd/stageflow
	@echo "make screenshot: docs/console-pipeline.png"

bench: ## Go benchmarks with their figures
	$(GO) test -run='^$$' -bench=. -benchmem ./shared/...

# AWS's Lambda Runtime Interface Emulator (README "Lambda functions on this
# machine"): runs a function's bootstrap through the real Lambda Runtime API,
# for `make invoke-%` and the emulator tests (shared/lambdatest). Installed
# once per version (the stamp names it).
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE_STAMP   := $(TOOLS)/.aws-lambda-rie-$(RIE_VERSION)
rie: $(RIE_STAMP) ## install the Lambda Runtime Interface Emulator into tools/bin (go install; cached)

$(RIE_STAMP):
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	@touch $@

EVENT ?=
invoke-%: deps rie dynamodb-local ## invoke-FUNCTION EVENT=FILE: run that function's bootstrap (built for this machine into build/host) under the emulator with the event(s) of FILE; one response per line
	@test -n "$(EVENT)" || { echo "usage: make invoke-$* EVENT=events/$*.<case>.json"; exit 2; }
	@$(GO) run ./tools/invoke -function '$*' -event '$(EVENT)'

# --- the AWS deployment (infra/, README "Deploy to AWS") ---

FUNCTIONS  := api advance dispatch provider webhook
LAMBDA_DIR := build/lambda
# The project's limit on one function's bootstrap (infra checks it too).
LAMBDA_MAX_BYTES := 20971520
CDK_CLI_DIR := infra/cli
CDK        := $(CDK_CLI_DIR)/node_modules/.bin/cdk
# Extra arguments for cdk, e.g. CDK_ARGS='-c stageflow:deletionProtection=false'.
CDK_ARGS   ?=

build-lambdas: ## build each function's arm64 bootstrap into build/lambda/<fn>/ (each at most 20 MiB)
	@for fn in $(FUNCTIONS); do \
	  if [ ! -f functions/$$fn/main.go ]; then echo "build-lambdas: functions/$$fn/main.go does not exist yet (see functions/README.md)"; exit 1; fi; \
	done
	@for fn in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
	    -o $(LAMBDA_DIR)/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  size=$$(stat -c %s $(LAMBDA_DIR)/$$fn/bootstrap); \
	  echo "$(LAMBDA_DIR)/$$fn/bootstrap: $$size bytes"; \
	  if [ $$size -gt $(LAMBDA_MAX_BYTES) ]; then echo "build-lambdas: $$fn is over 20 MiB"; exit 1; fi; \
	done

cdk-cli: $(CDK_CLI_DIR)/node_modules/.stageflow-installed ## install the AWS CDK command line pinned in infra/cli (npm ci; cached)

$(CDK_CLI_DIR)/node_modules/.stageflow-installed: $(CDK_CLI_DIR)/package.json $(CDK_CLI_DIR)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "cdk-cli: Node.js 20 or later and npm are needed"; exit 1; }
	cd $(CDK_CLI_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

synth: build-lambdas cdk-cli ## synthesize the CloudFormation template into cdk.out (no AWS account needed)
	$(CDK) synth --quiet $(CDK_ARGS)
	@echo "make synth: cdk.out/$$(jq -r '.context["stageflow:stackName"]' cdk.json).template.json (or the stack named in CDK_ARGS)"

deploy: build-lambdas cdk-cli ## deploy the stack with the AWS credentials of the environment (cdk deploy; README "Deploy to AWS")
	$(CDK) deploy $(CDK_ARGS)

clean: ## remove build outputs and local data
	rm -rf $(BIN) $(DATA_DIR) $(ONCE_DIR) $(TOOLS) $(JS_DIR)/node_modules $(CDK_CLI_DIR)/node_modules build cdk.out test-screenshots
