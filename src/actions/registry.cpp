#include "actions/action.hpp"

#include "http/json_writer.hpp"
#include "util/clock.hpp"

#include <charconv>
#include <stdexcept>

namespace wfhookd {

namespace {

// Every action type wfhookd knows. One line per type; the order is the order of the docs.
const ActionType kActionTypes[] = {
    {"exec", kExecSettings, run_exec,
     "run a program (no shell) with the request in its environment"},
    {"append", kAppendSettings, run_append, "append one JSON line per call to a file, fsync'ed"},
    {"spool", kSpoolSettings, run_spool, "write one JSON file per call into a directory"},
    {"move", kMoveSettings, run_move,
     "move the store's file of the document into a folder of the store, keeping its id"},
    {"noop", {}, run_noop, "succeed without doing anything (for testing and benchmarks)"},
};

} // namespace

std::span<const ActionType> action_types() {
    return kActionTypes;
}

const ActionType* find_action_type(std::string_view name) {
    for (const ActionType& t : kActionTypes)
        if (t.name == name) return &t;
    return nullptr;
}

const std::string& ActionConfig::setting(std::string_view key) const {
    for (const auto& [k, v] : settings)
        if (k == key) return v;
    // The loader fills every declared key, so this is a programming error in an action type.
    throw std::logic_error("action setting not declared by its type: " + std::string(key));
}

unsigned ActionConfig::seconds(std::string_view key) const {
    const std::string& v = setting(key);
    unsigned n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
}

std::vector<std::string> split_command(std::string_view command) {
    std::vector<std::string> argv;
    std::size_t i = 0;
    const auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    };
    while (i < command.size()) {
        while (i < command.size() && space(command[i]))
            ++i;
        std::size_t j = i;
        while (j < command.size() && !space(command[j]))
            ++j;
        if (j > i) argv.emplace_back(command.substr(i, j - i));
        i = j;
    }
    return argv;
}

ActionResult run_noop(const ActionConfig&, const ActionCall&) {
    return {};
}

std::string call_record_json(const ActionCall& call) {
    std::string out;
    JsonWriter w(out);
    w.begin_object()
        .field("time", rfc3339_now())
        .field("action", call.action)
        .field("documentId", call.document_id);
    if (call.has_document_version_id)
        w.field("documentVersionId", call.document_version_id);
    else
        w.key("documentVersionId").null();
    w.field("username", call.username).end_object();
    return out;
}

} // namespace wfhookd
