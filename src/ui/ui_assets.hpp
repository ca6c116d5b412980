#pragma once
// The web UI's files (src/ui: index.html, app.js, style.css), embedded in the binary by
// embed_assets.cmake.

#include <cstddef>
#include <string_view>

namespace ui {

struct asset {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view body;
};

// nullptr when there is no such file.
const asset* find_asset(std::string_view path);

namespace detail {
extern const asset assets[];
extern const std::size_t asset_count;
}  // namespace detail

}  // namespace ui
