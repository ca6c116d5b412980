// libFuzzer target: the add-on options reader (addon::parse_options) on any text, then the
// access control compiled from the `acl` option it accepted, asked about every rule's topic.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "acl_queries.hpp"
#include "addon/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const addon::options_result r = addon::parse_options(text);
  if (!r.value) {
    // Refused: with a message naming the field, the way the broker reports it (exit 2).
    if (r.error.empty()) {
      std::fprintf(stderr, "fuzz_options: refused without a message\n");
      std::abort();
    }
    return 0;
  }
  if (!r.error.empty()) {
    std::fprintf(stderr, "fuzz_options: accepted with an error message\n");
    std::abort();
  }
  std::vector<std::string> users;
  for (const auto& l : r.value->logins) users.push_back(l.username);
  fuzz::ask_acl(r.value->acl, !r.value->acl.empty(), users);
  return 0;
}
