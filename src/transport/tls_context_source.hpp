#pragma once
// Where the TLS listeners get the server's TLS configuration (an asio::ssl::context) for each new
// connection. The Let's Encrypt add-on renews certificates by rewriting the files in /ssl, so
// the files are checked again (size, time, inode: a stat, no reading) at most every
// `check_interval`, when a connection arrives; when they changed and the new pair loads, new
// connections get it. Connections already open keep the context they started with (they hold it),
// so nobody is dropped. New files that do not load are logged once and the previous certificate
// stays in service.
//
// No Asio or OpenSSL in this header: the context is only named.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/logger.hpp"

namespace boost::asio::ssl {
class context;
}

namespace transport {

struct tls_files {
  std::string certfile;  // the server's certificate chain (PEM), leaf first
  std::string keyfile;   // its private key (PEM, not encrypted)
  std::string cafile;    // CAs for client certificates; used with require_certificate
  bool require_certificate = false;
};

class tls_context_source {
 public:
  using clock = std::chrono::steady_clock;

  tls_context_source(tls_files files, broker::logger& log,
                     std::chrono::milliseconds check_interval);
  ~tls_context_source();
  tls_context_source(const tls_context_source&) = delete;
  tls_context_source& operator=(const tls_context_source&) = delete;

  // Loads the files the first time. A one-line error naming the file and the problem when they
  // cannot be used.
  std::optional<std::string> load();

  // The context for a connection starting now. Thread-safe. Only after load() succeeded.
  std::shared_ptr<boost::asio::ssl::context> current(clock::time_point now);

  // What a file looked like on disk, to notice a rewrite without reading it.
  struct file_stamp {
    bool exists = false;
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t modified_ns = 0;
    bool operator==(const file_stamp&) const = default;
  };

 private:
  std::vector<file_stamp> stamp_files() const;
  void reload_if_changed();

  tls_files files_;
  broker::logger& log_;
  std::chrono::milliseconds check_interval_;

  std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::vector<file_stamp> loaded_stamps_;  // the files behind context_
  std::vector<file_stamp> failed_stamps_;  // files that did not load: not tried (or logged) again
  clock::time_point next_check_{};
};

}  // namespace transport
