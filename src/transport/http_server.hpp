#pragma once
// HTTP/1.1 sessions of the ingress port, and the live-update WebSocket on the same port (Beast,
// in http_server.cpp only). Each connection is in the session registry, so shutdown closes it.

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstddef>
#include <string>

#include "broker/logger.hpp"
#include "transport/http_service.hpp"
#include "transport/session_registry.hpp"

namespace transport {

struct http_context {
  http_context(http_service s, session_registry& r, broker::logger& l)
      : service(std::move(s)), registry(r), log(l) {}
  const http_service service;
  session_registry& registry;
  broker::logger& log;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> websockets{0};
};

// Call on the socket's executor. `remote_address` is endpoint_text() of the peer.
void serve_http(boost::asio::ip::tcp::socket socket, http_context& context,
                std::string remote_address);

}  // namespace transport
