// The store's write endpoints (spec §6.6-6.9, §6.11): POST /uploadInit, PUT /upload,
// POST /createFolder, PUT /delete, PUT /rename. Each change is recorded in [store] audit_file:
// when, who, what, from where to where.
#include "api/handlers.hpp"
#include "api/store_items.hpp"

#include "actions/files.hpp"
#include "http/multipart.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace wfhookd {

namespace {

// The answer for a store outcome that is not ok; `upload` uses the upload vocabulary
// ({"result":"fail",...}, spec §12 item 13).
void fail(Response& res, Outcome o, std::string_view what, bool upload = false) {
    int code = 500;
    std::string message;
    switch (o) {
    case Outcome::not_found:
        code = 404;
        message = "no such file or folder";
        break;
    case Outcome::not_a_folder:
        code = 400;
        message = fmt::format("{} is not a folder", what);
        break;
    case Outcome::exists:
        code = 409;
        message = fmt::format("an item named {} already exists", what);
        break;
    case Outcome::no_space:
        message = "no space left in the document store";
        break;
    case Outcome::too_large:
        code = 413;
        message = "the upload is larger than the store accepts";
        break;
    case Outcome::read_only:
        code = 403;
        message = "the document store is read-only";
        break;
    case Outcome::body_error:
        code = 400;
        message = "the request body ended early";
        break;
    default:
        message = "the document store failed; try again";
    }
    if (upload)
        res.set_upload_error(code, message);
    else
        res.set_error(code, message);
}

// Who changed what: one line in [store] audit_file. The change is done and durable; a log
// that cannot be written is an error in the daemon's log, not a failure the user sees.
void audit(const Context& ctx, const Call& call, std::string_view endpoint, std::string_view id,
           std::string_view from, std::string_view to) {
    std::string line;
    JsonWriter w(line);
    w.begin_object()
        .field("time", rfc3339_now())
        .field("user", call.caller.user)
        .field("endpoint", endpoint)
        .field("id", id);
    if (from.empty())
        w.key("from").null();
    else
        w.field("from", from);
    if (to.empty())
        w.key("to").null();
    else
        w.field("to", to);
    w.end_object();
    const ActionResult r = append_json_line(ctx.config->store.audit_file, std::move(line), 5);
    if (!r.ok) log(Level::error, "store: the audit line of a change was not written: {}", r.detail);
}

bool refuse_if_read_only(const StoreContext& sc, Response& res, bool upload = false) {
    if (!sc.store.config().read_only) return false;
    fail(res, Outcome::read_only, {}, upload);
    return true;
}

bool valid_name(std::string_view param, const Param& name, Response& res, bool upload = false) {
    const std::string problem = name_problem(name.value);
    if (problem.empty()) return true;
    const std::string message = fmt::format("parameter {} {}", param, problem);
    if (upload)
        res.set_upload_error(400, message);
    else
        res.set_error(400, message);
    return false;
}

// The folder a parentId names: absent, empty and "/" are the root.
bool parent_folder(StoreContext& sc, const Param& parent, Item& out, Response& res) {
    if (!find_item(sc, parent, true, out, res)) return false;
    if (out.folder()) return true;
    res.set_error(400, fmt::format("parentId {} is not a folder", parent.value));
    return false;
}

void answer_item(StoreContext& sc, const Call& call, const Item& item, Response& res) {
    res.status = 200;
    res.body.clear();
    JsonWriter w(res.body);
    write_item(w, sc, item, link_context(sc, call.request));
}

// A body handed over whole (unit tests build requests without a stream).
class WholeBody : public BodySource {
public:
    explicit WholeBody(std::string_view body) : body_(body) {}
    long read(char* buf, std::size_t size) override {
        const std::size_t n = std::min(size, body_.size());
        std::copy_n(body_.data(), n, buf);
        body_.remove_prefix(n);
        return static_cast<long>(n);
    }

private:
    std::string_view body_;
};

// The upload body: the raw bytes, or the file part of a multipart/form-data body.
class UploadBody : public ByteSource {
public:
    explicit UploadBody(const Request& req)
        : whole_(req.body), source_(req.body_source != nullptr ? *req.body_source : whole_) {
        if (const std::string boundary = multipart_boundary(req.content_type); !boundary.empty())
            multipart_.emplace(source_, boundary);
    }
    long read(char* buf, std::size_t size) override {
        return multipart_ ? multipart_->read(buf, size) : source_.read(buf, size);
    }
    std::string_view multipart_error() const { return multipart_ ? multipart_->error() : ""; }

private:
    WholeBody whole_;
    BodySource& source_;
    std::optional<MultipartReader> multipart_;
};

} // namespace

void handle_upload_init(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<UploadInitParams>();
    if (refuse_if_read_only(sc, res) || !valid_name("filename", p.filename, res)) return;
    Item folder, file;
    if (!parent_folder(sc, p.parent_id, folder, res)) return;
    // A name in use gets "NAME (2).ext", as desktop file managers do (docs/workfront.md).
    if (const Outcome o = sc.store.create_file(folder, p.filename.value, true, file);
        o != Outcome::ok)
        return fail(res, o, p.filename.value);
    if (!p.document_id.empty() &&
        !sc.store.set_document(p.document_id.value, p.document_version_id.value, file.row.id))
        log(Level::error, "store: recording Workfront document {} for {} failed: {}",
            p.document_id.value, file.row.id, sc.store.index().last_error());
    audit(ctx, call, "uploadInit", file.row.id, {}, file.row.path);
    answer_item(sc, call, file, res);
}

void handle_upload(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<IdParams>();
    if (refuse_if_read_only(sc, res, true)) return;
    const std::uint64_t limit = sc.store.config().max_upload_size;
    // Checked before reading anything, and again while reading (a body of unknown length).
    if (call.request.content_length >= 0 && std::uint64_t(call.request.content_length) > limit)
        return res.set_upload_error(413, fmt::format("the upload is {} bytes; the limit is {}",
                                                     call.request.content_length, limit));
    Item item;
    switch (sc.store.find(p.id.value, item)) {
    case Outcome::ok:
        break;
    case Outcome::error:
        return fail(res, Outcome::error, {}, true);
    default:
        return fail(res, Outcome::not_found, {}, true);
    }
    if (item.folder())
        return res.set_upload_error(400, fmt::format("{} is a folder: upload into a file made by "
                                                     "uploadInit",
                                                     p.id.value));
    UploadBody body(call.request);
    std::uint64_t written = 0;
    const Outcome o = sc.store.replace_content(item, body, limit, written);
    if (o != Outcome::ok) {
        fail(res, o, {}, true);
        if (!body.multipart_error().empty()) {
            res.set_upload_error(400, std::string(body.multipart_error()));
        }
        return;
    }
    // Renamed or moved while the body came in, the item got the content where it is now
    // (Store::replace_content): so says the audit line.
    Item now;
    const bool found = sc.store.find(item.row.id, now) == Outcome::ok;
    audit(ctx, call, "upload", item.row.id, {}, found ? now.row.path : item.row.path);
    res.status = 200;
    res.body.assign(R"({"result":"success"})");
}

void handle_create_folder(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<CreateFolderParams>();
    if (refuse_if_read_only(sc, res) || !valid_name("name", p.name, res)) return;
    Item parent, folder;
    if (!parent_folder(sc, p.parent_id, parent, res)) return;
    if (const Outcome o = sc.store.create_folder(parent, p.name.value, folder); o != Outcome::ok) {
        if (o == Outcome::exists)
            return res.set_error(409,
                                 fmt::format("a folder named {} already exists", p.name.value));
        return fail(res, o, p.name.value);
    }
    audit(ctx, call, "createFolder", folder.row.id, {}, folder.row.path);
    answer_item(sc, call, folder, res);
}

void handle_delete(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<DeleteParams>();
    const int given = !p.id.empty() + !p.document_id.empty() + !p.folder_id.empty();
    if (given != 1) return res.set_error(400, "give exactly one of id, documentId and folderId");
    if (refuse_if_read_only(sc, res)) return;
    const Param& which = !p.id.empty()            ? p.id
                         : !p.document_id.empty() ? p.document_id
                                                  : p.folder_id;
    Item item;
    if (!find_item(sc, which, false, item, res)) return;
    if (item.root()) return res.set_error(400, "the root folder cannot be deleted");
    if (&which == &p.document_id && item.folder())
        return res.set_error(400, fmt::format("{} is a folder: use folderId", which.value));
    if (&which == &p.folder_id && !item.folder())
        return res.set_error(400, fmt::format("{} is not a folder: use documentId", which.value));
    if (const Outcome o = sc.store.remove(item); o != Outcome::ok)
        return fail(res, o, item.row.name);
    audit(ctx, call, "delete", item.row.id, item.row.path, {});
    res.set_success();
}

void handle_rename(const Context& ctx, const Call& call, Response& res) {
    StoreContext& sc = *ctx.store;
    const auto& p = call.params_as<RenameParams>();
    if (refuse_if_read_only(sc, res) || !valid_name("name", p.name, res)) return;
    Item item;
    if (!find_item(sc, p.id, false, item, res)) return;
    if (item.root()) return res.set_error(400, "the root folder cannot be renamed");
    const std::string from = item.row.path;
    if (const Outcome o = sc.store.rename(item, p.name.value); o != Outcome::ok)
        return fail(res, o, p.name.value);
    audit(ctx, call, "rename", item.row.id, from, join_path(split_path(from).first, p.name.value));
    res.set_success();
}

} // namespace wfhookd
