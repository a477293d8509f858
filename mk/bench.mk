# Benchmarks (docs/performance.md).
#   make bench                         bench/run: every target through one private nginx
#   make bench BENCH_ARGS=--quick      a short functional run
#   make bench-instructions            bench/instructions: callgrind Ir per request
#   make bench-tools                   only build what they need
# The tools: bench/bare_responder.cpp (target b, the architecture's ceiling) and
# bench/fcgi_load.cpp (target f, FastCGI load without nginx; it reuses the request encoder
# of tests/support/fcgi_client.cpp), bench/spawn_loop.cpp (e0, the machine's ceiling for
# starting processes, which bounds exec actions) and bench/photo.cpp (the document store
# targets' 6000x4000 JPEG, made with libvips).

BENCH_TOOLS := $(BUILD)/bench/bare_responder $(BUILD)/bench/fcgi_load $(BUILD)/bench/spawn_loop \
	$(BUILD)/bench/photo
BENCH_ARGS ?=

.PHONY: bench bench-instructions bench-tools
bench-tools: $(BUILD)/wfhookd $(BENCH_TOOLS)

# The scripts install their packages (scripts/install-deps bench) and build what they need.
bench:
	@BUILD=$(BUILD) bench/run $(BENCH_ARGS)
bench-instructions:
	@BUILD=$(BUILD) bench/instructions $(BENCH_ARGS)

$(BUILD)/bench/%.o: WF_CPPFLAGS += -Itests/support

$(BUILD)/bench/bare_responder: $(BUILD)/bench/bare_responder.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ -lfcgi -o $@

$(BUILD)/bench/spawn_loop: $(BUILD)/bench/spawn_loop.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ -o $@

$(BUILD)/bench/fcgi_load: $(BUILD)/bench/fcgi_load.o $(BUILD)/tests/support/fcgi_client.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ -o $@

$(BUILD)/bench/photo: $(BUILD)/bench/photo.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CXX) $(WF_LDFLAGS) $(LDFLAGS) $^ $(shell $(PKG_CONFIG) --libs vips 2>/dev/null || \
		echo -lvips -lgobject-2.0 -lglib-2.0) -o $@

# `make format` and `make format-check` cover the bench sources too.
FORMAT_FILES += $(wildcard bench/*.cpp)

-include $(BUILD)/bench/bare_responder.d $(BUILD)/bench/fcgi_load.d $(BUILD)/bench/spawn_loop.d \
	$(BUILD)/bench/photo.d
