// libFuzzer target: the Mosquitto acl_file reader (addon::parse_acl_file), then the access
// control compiled from what it accepted, asked about every rule's own topic and a few more.
// Input: the file's text, then optionally a NUL and NUL-separated extra topics / names to ask
// about.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "acl_queries.hpp"
#include "addon/acl_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  std::vector<std::string> extra;
  if (nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (!rest.empty() && extra.size() < 8) {
      const std::size_t end = rest.find('\0');
      extra.emplace_back(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest = rest.substr(end + 1);
    }
  }

  const addon::acl_file_result r = addon::parse_acl_file(text, "/share/mosquitto/acl");
  if (!r.error.empty()) {
    // A refused file gives its reason and no rules, never half of them.
    if (!r.rules.empty()) {
      std::fprintf(stderr, "fuzz_acl_file: rules returned with an error\n");
      std::abort();
    }
    return 0;
  }
  fuzz::ask_acl(r.rules, true, extra);
  return 0;
}
