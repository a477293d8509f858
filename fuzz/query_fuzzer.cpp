// libFuzzer target: the query-string parser. Properties checked on every input: no crash,
// no out-of-bounds (ASan), decoded text never longer than its source, no NUL in the output,
// and a successful parse visits only keys and values that are views into valid memory.
#include "http/query.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view query(reinterpret_cast<const char*>(data), size);
    std::string scratch;
    std::size_t total = 0;
    const std::string error =
        wfhookd::parse_query(query, scratch, [&](std::string_view k, std::string_view v) {
            if (k.find('\0') != std::string_view::npos || v.find('\0') != std::string_view::npos)
                std::abort();
            total += k.size() + v.size();
            return true;
        });
    if (error.empty() && total > query.size()) std::abort();
    return 0;
}
