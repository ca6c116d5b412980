#include "ui/ui_assets.hpp"

namespace ui {

const asset* find_asset(std::string_view path) {
  for (std::size_t i = 0; i < detail::asset_count; ++i) {
    if (detail::assets[i].path == path) return &detail::assets[i];
  }
  return nullptr;
}

}  // namespace ui
