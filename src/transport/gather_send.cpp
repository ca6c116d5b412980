#include "transport/gather_send.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>

#include <boost/asio/error.hpp>

namespace transport {

namespace {

// Buffers one sendmsg takes; Linux allows IOV_MAX (1024).
#if defined(IOV_MAX)
constexpr std::size_t max_iov = IOV_MAX < 256 ? IOV_MAX : 256;
#else
constexpr std::size_t max_iov = 16;
#endif

}  // namespace

std::size_t gather_send(int fd, std::span<const boost::asio::const_buffer> buffers,
                        send_position& at, boost::system::error_code& ec) {
  ec = {};
  std::size_t total = 0;
  std::array<iovec, max_iov> iov;
  while (at.buffer < buffers.size()) {
    std::size_t count = 0;
    std::size_t requested = 0;
    for (std::size_t i = at.buffer; i < buffers.size() && count < max_iov; ++i) {
      const std::size_t skip = i == at.buffer ? at.offset : 0;
      iov[count].iov_base = const_cast<char*>(static_cast<const char*>(buffers[i].data()) + skip);
      iov[count].iov_len = buffers[i].size() - skip;
      requested += iov[count].iov_len;
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = count;
    const ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      ec = (errno == EAGAIN || errno == EWOULDBLOCK)
               ? boost::system::error_code(boost::asio::error::would_block)
               : boost::system::error_code(errno, boost::system::system_category());
      return total;
    }
    auto left = static_cast<std::size_t>(sent);
    total += left;
    // Past the buffers sent whole, into the first one not.
    while (at.buffer < buffers.size()) {
      const std::size_t rest = buffers[at.buffer].size() - at.offset;
      if (left < rest) {
        at.offset += left;
        break;
      }
      left -= rest;
      ++at.buffer;
      at.offset = 0;
    }
    // Less than asked: the send buffer is full, and asking again now would only say so.
    if (static_cast<std::size_t>(sent) < requested) {
      ec = boost::asio::error::would_block;
      return total;
    }
  }
  return total;
}

}  // namespace transport
