#include "api/handlers.hpp"
#include "http/json_writer.hpp"
#include "util/clock.hpp"

#include <fmt/format.h>

namespace wfhookd {

// GET /status: a php-fpm-like view of the pool, read straight from the scoreboard.
void handle_status(const Context& ctx, const Call&, Response& res) {
    const Scoreboard* sb = ctx.scoreboard;
    if (sb == nullptr) return res.set_error(500, "status is not available in this process");
    const std::int64_t now = monotonic_ns();
    const auto ms = [](std::int64_t ns) { return ns / 1'000'000; };

    res.status = 200;
    res.body.clear();
    JsonWriter w(res.body);
    w.begin_object()
        .field("service", "wfhookd")
        .field("version", ctx.config->service.version)
        .field("uptimeSeconds", (now - sb->started_ns()) / 1'000'000'000)
        .field("reloads", sb->reloads())
        .field("requestTimeoutKills", sb->deadline_kills())
        .field("configuredWorkers", static_cast<std::uint64_t>(ctx.config->server.workers));

    std::uint64_t idle = 0, busy = 0, total_requests = 0;
    w.key("processes").begin_array();
    for (std::size_t i = 0; i < Scoreboard::kSlots; ++i) {
        const WorkerSlot& s = sb->slot(i);
        const WorkerState state = s.state.load();
        if (state == WorkerState::free) continue;
        const std::int64_t req = s.request_ns.load();
        const std::int32_t ep = s.endpoint.load();
        const std::int32_t act = s.action.load();
        idle += state == WorkerState::idle;
        busy += state == WorkerState::busy;
        w.begin_object()
            .field("pid", static_cast<std::int64_t>(s.pid.load()))
            .field("generation", static_cast<std::uint64_t>(s.generation.load()))
            .field("state", to_string(state))
            .field("requests", s.requests.load())
            .field("startedSecondsAgo", (now - s.started_ns.load()) / 1'000'000'000);
        if (state == WorkerState::busy && req != 0) {
            w.field("requestAgeMs", ms(now - req));
            if (ep >= 0 && static_cast<std::size_t>(ep) < endpoints().size())
                w.field("endpoint", endpoints()[ep].name);
            if (act >= 0) w.field("action", std::string_view(sb->action(act).name));
        }
        w.end_object();
    }
    w.end_array();
    w.key("workers").begin_object().field("idle", idle).field("busy", busy).end_object();

    w.key("responses").begin_object();
    for (int code = 100; code < Scoreboard::kStatusCodes; ++code) {
        const std::uint64_t n = sb->status_count(code);
        total_requests += n;
        if (n != 0) w.field(fmt::format("{}", code), n);
    }
    w.end_object();
    w.field("requests", total_requests);

    w.key("actions").begin_array();
    for (std::size_t i = 0; i < ctx.config->actions.size(); ++i) {
        const int idx = ctx.action_index[i];
        if (idx < 0) continue;
        const ActionCounters& c = sb->action(idx);
        std::uint64_t running = 0;
        for (std::size_t k = 0; k < Scoreboard::kSlots; ++k)
            running += sb->slot(k).action.load() == idx;
        w.begin_object()
            .field("name", ctx.config->actions[i].name)
            .field("calls", c.calls.load())
            .field("failures", c.failures.load())
            .field("rejectedBusy", c.rejected_busy.load())
            .field("running", running)
            .field("maxConcurrent",
                   static_cast<std::uint64_t>(ctx.config->actions[i].max_concurrent))
            .end_object();
    }
    w.end_array();
    w.end_object();
}

} // namespace wfhookd
