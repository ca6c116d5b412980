#pragma once
// One gathered send of many buffers straight to a socket, in as few system calls as the kernel
// allows. Asio's own writes send at most 16 buffers a call (its consuming_buffers), and a batch
// of shared payloads is two buffers a message, so a subscriber's 62 messages of 1 KiB took 8
// sendmsg calls; here they take one.

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <span>

namespace transport {

// Where a partly sent buffer sequence goes on: the buffer, and the bytes of it already sent.
struct send_position {
  std::size_t buffer = 0;
  std::size_t offset = 0;
};

// Sends from `at` on, never blocking, until everything is sent, the socket takes no more
// (would_block in `ec`) or fails (`ec`); `at` moves past what was sent. Returns the bytes sent.
// Never raises SIGPIPE.
std::size_t gather_send(int fd, std::span<const boost::asio::const_buffer> buffers,
                        send_position& at, boost::system::error_code& ec);

}  // namespace transport
