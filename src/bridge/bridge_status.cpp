#include "bridge/bridge_status.hpp"

namespace bridge {

const char* name_of(bridge_state s) {
  switch (s) {
    case bridge_state::connecting:
      return "connecting";
    case bridge_state::connected:
      return "connected";
    case bridge_state::waiting:
      return "waiting";
    case bridge_state::stopped:
      return "stopped";
  }
  return "?";
}

}  // namespace bridge
