# wfhookd — plain GNU Make. `make` builds build/wfhookd; `make test` runs every test and ends
# with "N passed, N failed"; `make run` serves the demo behind a private nginx.
#
# Project flags are kept apart from CXXFLAGS/CPPFLAGS/LDFLAGS, which stay the caller's
# (dpkg-buildflags, sanitizer runs, `make CXXFLAGS=-O0`).

VERSION := $(shell cat VERSION)
CXX ?= g++
CXXFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# SANITIZE=address,undefined builds everything with those sanitizers, in its own tree.
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build/sanitize-$(subst $(comma),-,$(SANITIZE))
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
# GCC 12 reports false -Wmaybe-uninitialized inside <regex> and <functional> under ASan
# (GCC bug 105562 family); only in sanitizer builds.
SAN_WARN := -Wno-maybe-uninitialized
endif
comma := ,

WF_CPPFLAGS = -DWFHOOKD_VERSION='"$(VERSION)"' -Isrc -MMD -MP $(STORE_CFLAGS)
WF_CXXFLAGS := -std=c++20 -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor $(SAN_FLAGS) $(SAN_WARN)
# Bind every symbol at start (and make the GOT read-only): hardening, and no lazy binding
# on the first requests.
WF_LDFLAGS := -Wl,-z,relro,-z,now $(SAN_FLAGS)
# The store: SQLite (index, search), libvips (thumbnails), libcrypto (HMAC, SHA-256).
STORE_PKGS := sqlite3 vips libcrypto
LIBS := -lfcgi $(shell $(PKG_CONFIG) --libs fmt 2>/dev/null || echo -lfmt) \
	$(shell $(PKG_CONFIG) --libs $(STORE_PKGS) 2>/dev/null || echo -lsqlite3 -lvips -lgobject-2.0 -lglib-2.0 -lcrypto)
# -isystem: warnings in glib's headers are not ours to fix.
STORE_CFLAGS := $(patsubst -I%,-isystem %,$(shell $(PKG_CONFIG) --cflags $(STORE_PKGS) 2>/dev/null))
TEST_LIBS := -lboost_unit_test_framework

# Everything but main.cpp goes into a static library that the daemon, the tests and the
# fuzzers link.
SRCS := $(wildcard src/*.cpp src/*/*.cpp)
LIB_SRCS := $(filter-out src/main.cpp,$(SRCS))
LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.cpp tests/unit/*/*.cpp)
E2E_SRCS := $(wildcard tests/e2e/*.cpp)
SUPPORT_SRCS := $(wildcard tests/support/*.cpp)
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
E2E_OBJS := $(E2E_SRCS:%.cpp=$(BUILD)/%.o)
SUPPORT_OBJS := $(SUPPORT_SRCS:%.cpp=$(BUILD)/%.o)

.PHONY: all test check test-build unit e2e clean distclean run deps format format-check install uninstall
all: $(BUILD)/wfhookd

# `make V=1` shows the full commands.
V ?= 0
ifeq ($(V),0)
Q := @
endif

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(WF_CPPFLAGS) $(CPPFLAGS) $(WF_CXXFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libwfhookd.a: $(LIB_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/wfhookd: $(BUILD)/src/main.o $(BUILD)/libwfhookd.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/unit_tests: $(UNIT_OBJS) $(SUPPORT_OBJS) $(BUILD)/libwfhookd.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ $(LIBS) $(TEST_LIBS) -o $@

$(BUILD)/tests/e2e_tests: $(E2E_OBJS) $(SUPPORT_OBJS) $(BUILD)/libwfhookd.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ $(LIBS) $(TEST_LIBS) -o $@

# Test objects use Boost.Test's shared library; tests/support/counting_main.cpp is main().
$(BUILD)/tests/%.o: WF_CPPFLAGS += -DBOOST_TEST_DYN_LINK -DBOOST_TEST_NO_MAIN \
	-DBOOST_TEST_ALTERNATIVE_INIT_API -Itests

# `make test`: installs missing Debian packages, builds, then runs the unit tests and the
# end-to-end tests against the built binary through a real nginx. Both always run; the last
# line sums them up. (Packages first, in a make of their own: compiling needs the headers.)
test check:
	@scripts/install-deps test
	@$(MAKE) --no-print-directory test-build
	@scripts/run-tests $(BUILD)

test-build: $(BUILD)/wfhookd $(BUILD)/tests/unit_tests $(BUILD)/tests/e2e_tests

unit: $(BUILD)/tests/unit_tests
	WFHOOKD_TEST_SUITE=unit $(BUILD)/tests/unit_tests
e2e: $(BUILD)/wfhookd $(BUILD)/tests/e2e_tests
	WFHOOKD_TEST_SUITE=e2e WFHOOKD_SOURCE_DIR=$(CURDIR) WFHOOKD_BIN=$(CURDIR)/$(BUILD)/wfhookd \
		$(BUILD)/tests/e2e_tests

# `make run`: the demo service behind a private nginx on 127.0.0.1:8080 and :8443.
HTTP_PORT ?= 8080
HTTPS_PORT ?= 8443
run:
	@scripts/install-deps run
	@$(MAKE) --no-print-directory $(BUILD)/wfhookd $(BUILD)/tools/demo_image
	@HTTP_PORT=$(HTTP_PORT) HTTPS_PORT=$(HTTPS_PORT) scripts/run-dev $(BUILD)/wfhookd

deps:
	@scripts/install-deps test

FORMAT_FILES := $(wildcard src/*.[ch]pp src/*/*.[ch]pp tests/*/*.[ch]pp tests/unit/*/*.cpp)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build
distclean: clean
	rm -rf .run

# Feature areas keep their rules in fragments of their own: mk/install.mk (install, deb),
# mk/bench.mk (benchmarks), mk/fuzz.mk (fuzzers).
include $(sort $(wildcard mk/*.mk))

-include $(LIB_OBJS:.o=.d) $(BUILD)/src/main.d $(UNIT_OBJS:.o=.d) $(E2E_OBJS:.o=.d) $(SUPPORT_OBJS:.o=.d)
