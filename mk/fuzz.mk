# libFuzzer targets, built with clang and ASan+UBSan in build/fuzz (issue: hostile input).
#   make fuzz                    run every fuzzer for FUZZ_SECONDS (default 60) each
#   make fuzz-build              just build them
# Seed corpora live in fuzz/corpus/<name>/ (committed); what the fuzzers find while running
# goes to build/fuzz/corpus/<name>/ (not committed). A crash stops `make fuzz` and leaves the
# input in build/fuzz/crash-*. An input that runs more than 20 s is a hang: it fails too
# (libFuzzer's default would wait 20 minutes).

FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++
FUZZ_DIR := build/fuzz
FUZZERS := query router fcgi gate multipart
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CXXFLAGS := -std=c++20 -g -O1 -Wall -Wextra -Werror $(FUZZ_SAN) -DWFHOOKD_VERSION='"$(VERSION)"' \
	-Isrc -Itests -MMD -MP $(STORE_CFLAGS)
# Per-fuzzer options: libfcgi 2.4.2 leaks on FastCGI management records (not our code).
FUZZ_OPTS_fcgi := -detect_leaks=0 -max_len=8192
FUZZ_ENV_fcgi := ASAN_OPTIONS=detect_leaks=0
FUZZ_OPTS_router := -max_len=4096
FUZZ_OPTS_query := -max_len=4096
FUZZ_OPTS_gate := -max_len=16384
FUZZ_OPTS_multipart := -max_len=8192

FUZZ_LIB_OBJS := $(LIB_SRCS:%.cpp=$(FUZZ_DIR)/%.o) $(FUZZ_DIR)/tests/support/json_check.o

$(FUZZ_DIR)/%.o: %.cpp
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCXX $<")
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/%_fuzzer: $(FUZZ_DIR)/fuzz/%_fuzzer.o $(FUZZ_LIB_OBJS)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(FUZZ_CXX) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(LIBS) -o $@

.PHONY: fuzz fuzz-build $(FUZZERS:%=fuzz-run-%)
fuzz-build: $(FUZZERS:%=$(FUZZ_DIR)/%_fuzzer)

# One after the other, so each gets the whole time on its own.
fuzz:
	@scripts/install-deps fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; for f in $(FUZZERS); do $(MAKE) --no-print-directory fuzz-run-$$f; done

$(FUZZERS:%=fuzz-run-%): fuzz-run-%: $(FUZZ_DIR)/%_fuzzer
	@mkdir -p $(FUZZ_DIR)/corpus/$*
	@rm -f $(FUZZ_DIR)/crash-$*-* $(FUZZ_DIR)/stalled-$*-*
	@echo "== fuzzing $* for $(FUZZ_SECONDS) s"
	@$(FUZZ_ENV_$*) $(FUZZ_DIR)/$*_fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=20 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/crash-$*- $(FUZZ_OPTS_$*) \
		$(FUZZ_DIR)/corpus/$* fuzz/corpus/$* >$(FUZZ_DIR)/$*.log 2>&1 || true
	@grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' $(FUZZ_DIR)/$*.log || true
	@# A unit reported slow (over 10 s) or timed out (20 s) is replayed alone: one that then runs
	@# within 5 s was the machine stalling (a VM descheduled: seen once in CI, a 13 s "slow
	@# unit" that replays in milliseconds), not the code. It is kept as stalled-*, not a failure.
	@# Every other artifact, and a slow one that stays slow, fails.
	@for a in $(FUZZ_DIR)/crash-$*-slow-unit-* $(FUZZ_DIR)/crash-$*-timeout-*; do \
		[ -e "$$a" ] || continue; \
		if $(FUZZ_ENV_$*) $(FUZZ_DIR)/$*_fuzzer -timeout=5 $(FUZZ_OPTS_$*) -artifact_prefix=$(FUZZ_DIR)/replay-$*- "$$a" >$(FUZZ_DIR)/$*.replay.log 2>&1; then \
			mv "$$a" "$(FUZZ_DIR)/stalled-$${a#$(FUZZ_DIR)/crash-}"; \
			echo "fuzzer $*: $$(basename "$$a") was slow once but replays within 5 s: the machine stalled, not the code"; \
		fi; \
	done
	@if ls $(FUZZ_DIR)/crash-$*-* >/dev/null 2>&1; then \
		tail -40 $(FUZZ_DIR)/$*.log; echo "fuzzer $* found a crash, a hang or a slow input: $$(ls $(FUZZ_DIR)/crash-$*-*)"; exit 1; fi
	@grep -q '^Done' $(FUZZ_DIR)/$*.log || { tail -40 $(FUZZ_DIR)/$*.log; echo "fuzzer $* did not finish"; exit 1; }

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZERS:%=$(FUZZ_DIR)/fuzz/%_fuzzer.d)

# `make format` and `make format-check` cover the fuzz targets too.
FORMAT_FILES += $(wildcard fuzz/*.cpp)
