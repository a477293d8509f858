// Action types: compiled functions registered under a type name. A config section
// `[action:NAME]` with `type = T` instantiates type T with that section's settings.
//
// Adding a type = one function with the ActionFn signature, a SettingSpec table for its keys,
// and one line in kActionTypes (actions/registry.cpp). docs/actions.md walks through it.
#pragma once

#include <atomic>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace wfhookd {

struct ActionConfig;
class Store;

// How a setting's value is checked when the config is loaded (before any fork).
enum class SettingKind {
    text,               // any non-empty text
    command,            // whitespace-separated argv; argv[0] an absolute path to an executable file
    seconds,            // whole number of seconds, 1..86400
    file_path,          // absolute path of a regular file that can be created or appended to
    directory,          // absolute path of an existing directory we can create files in
    existing_directory, // absolute path of an existing directory
    umask,              // an octal umask such as 027
    store_folder,       // a folder beneath [store] root, as a relative path of valid names
};

struct SettingSpec {
    std::string_view key;
    bool required;
    std::string_view default_value; // used when not required and absent
    SettingKind kind;
    std::string_view doc; // one line, shown by docs and `wfhookd --help-actions`
};

// What the caller asked for; views valid for the duration of the call.
struct ActionCall {
    std::string_view action;
    std::string_view document_id;
    std::string_view document_version_id; // empty when not sent
    bool has_document_version_id = false;
    std::string_view username;
    // The document store (null without one), and the file of ours that the Workfront
    // documentId belongs to, when it was sent through uploadInit (empty id otherwise).
    Store* store = nullptr;
    std::string_view store_id{};
    std::string store_path{}; // absolute
    // Where an action that starts processes publishes their process group while they run, so
    // the master can kill the group if this worker dies first. Null in unit tests.
    std::atomic<pid_t>* process_group = nullptr;
};

struct ActionResult {
    bool ok = true;
    std::string error;  // shown to the Workfront user when !ok; never contains secrets
    std::string detail; // for the operator's log only (paths, errno), may be empty
    // The HTTP status of a failure: 500, 404 when the document is not one the action can act
    // on, or 503 for "busy, try again" (for 404 and 503, `error` is the whole message the
    // user sees).
    int status = 500;
};

using ActionFn = ActionResult (*)(const ActionConfig&, const ActionCall&);

struct ActionType {
    std::string_view name;
    std::span<const SettingSpec> settings;
    ActionFn run;
    std::string_view summary;
};

std::span<const ActionType> action_types();
const ActionType* find_action_type(std::string_view name);

// One configured action (an [action:NAME] section), immutable after loading.
struct ActionConfig {
    std::string name;
    std::string display_name;
    const ActionType* type = nullptr;
    unsigned max_concurrent = 0;                               // 0 = unlimited
    std::size_t index = 0;                                     // position in Config::actions
    std::vector<std::pair<std::string, std::string>> settings; // every spec key, defaults filled
    std::vector<std::string> defaulted; // the keys of `settings` the operator did not set

    // The value of a setting declared in the type's SettingSpec table (defaults applied).
    const std::string& setting(std::string_view key) const;
    unsigned seconds(std::string_view key) const;
};

// The built-in types (one function each).
ActionResult run_exec(const ActionConfig&, const ActionCall&);
ActionResult run_append(const ActionConfig&, const ActionCall&);
ActionResult run_noop(const ActionConfig&, const ActionCall&);
ActionResult run_spool(const ActionConfig&, const ActionCall&);
ActionResult run_move(const ActionConfig&, const ActionCall&);

extern const SettingSpec kExecSettings[4];
extern const SettingSpec kAppendSettings[2];
extern const SettingSpec kSpoolSettings[1];
extern const SettingSpec kMoveSettings[1];

// The JSON object that records a call (append writes it as a line, spool as a file):
// {"time":"<RFC 3339 UTC, ms>","action":…,"documentId":…,"documentVersionId":…|null,"username":…}
std::string call_record_json(const ActionCall& call);

// Splits a command line on ASCII whitespace. No quoting, no shell: what you see is argv.
std::vector<std::string> split_command(std::string_view command);

} // namespace wfhookd
