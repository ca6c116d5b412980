#pragma once
// How a CONNECT's credentials are judged. Asynchronous so a later authenticator can ask the
// Supervisor without blocking an I/O thread: `done` may run on any thread, once.

#include <functional>
#include <optional>
#include <string>

namespace broker {

struct credentials {
  std::string client_id;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string remote_address;
};

enum class auth_result {
  accepted,
  bad_credentials,  // 3.1.1 return code 4 / 5.0 0x86 (unknown user or wrong password)
  not_authorized,   // 3.1.1 return code 5 / 5.0 0x87 (anonymous: no user name at all)
  unavailable,      // 3.1.1 return code 3 / 5.0 0x88 (the hub cannot say)
};

class authenticator {
 public:
  virtual ~authenticator() = default;
  virtual void authenticate(const credentials& who, std::function<void(auth_result)> done) = 0;
};

}  // namespace broker
