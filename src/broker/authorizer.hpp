#pragma once
// Access control: who may publish to, subscribe to and receive from which topics. Called under
// the broker state's lock, so implementations must be fast and must not block.

#include <string_view>

namespace broker {

struct client_identity {
  std::string_view client_id;
  std::string_view username;  // empty when the client gave none
};

class authorizer {
 public:
  virtual ~authorizer() = default;
  virtual bool can_publish(const client_identity& who, std::string_view topic) const = 0;
  virtual bool can_subscribe(const client_identity& who, std::string_view filter) const = 0;
  // Checked per message at delivery: a filter such as '#' may be allowed while some of the
  // topics it matches are not readable by this user.
  virtual bool can_receive(const client_identity& who, std::string_view topic) const = 0;
};

}  // namespace broker
