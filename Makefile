# The two commands of the README:
#   make demo   check, test and run the example classifiers over their real data
#   make test   the whole test suite (what CI runs)
SWIFT ?= swift
RELEASE := .build/release/loopai
EXAMPLES := sms_spam sentiment hdfs_logs validation

.PHONY: demo test setup build release unit-tests examples-test serve-test fuzz-smoke clean

setup:
	@scripts/setup

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release --product loopai

demo: release
	@scripts/demo $(RELEASE)

test: setup
	$(SWIFT) build --build-tests
	scripts/with-postgres $(SWIFT) test --skip-build
	@$(MAKE) --no-print-directory examples-test LOOPAI=.build/debug/loopai
	@$(MAKE) --no-print-directory serve-test LOOPAI=.build/debug/loopai
	@$(MAKE) --no-print-directory fuzz-smoke

# loopai serve from outside: the Python client against the interpreter's answers, the
# OpenAPI description checked against the running server (schemathesis, in .build/venv-api),
# and three replicas sharing a throwaway PostgreSQL (leader killed mid-canary).
serve-test:
	LOOPAI=$(LOOPAI) python3 Tests/serve/test_client.py
	LOOPAI=$(LOOPAI) Tests/serve/run-api-test
	scripts/with-postgres env LOOPAI=$(LOOPAI) python3 Tests/serve/test_replicas.py

examples-test:
	@scripts/examples-test $(LOOPAI)

fuzz-smoke:
	@scripts/fuzz-smoke

clean:
	rm -rf .build .build-fuzz
