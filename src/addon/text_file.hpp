#pragma once
// Reading a whole configuration file (options, system users, ACL files) with a size limit, so a
// wrong path (a device, a huge log) cannot make the broker read without bound. Never throws.

#include <cstddef>
#include <optional>
#include <string>

namespace addon {

struct text_file {
  std::optional<std::string> text;  // the content, when it could be read
  bool missing = false;             // the file does not exist
  std::string error;                // otherwise, why it could not be read (one line)
};

text_file read_text_file(const std::string& path, std::size_t max_bytes);

}  // namespace addon
