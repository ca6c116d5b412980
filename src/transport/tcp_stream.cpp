#include "transport/tcp_stream.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace transport {

using boost::system::error_code;

tcp_stream::tcp_stream(socket_type socket, io_thread::home& home) : home_(&home) {
  error_code ec;
  // Non-blocking (one ioctl, as before the poller): every call here must return at once.
  socket.non_blocking(true, ec);
  // Asio forgets the descriptor; the poller watches it from now on. On failure the socket
  // closes it.
  if (!ec) fd_ = socket.release(ec);
  if (ec) {
    fd_ = -1;
    closed_ = true;
  }
}

tcp_stream::tcp_stream(tcp_stream&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      readable_(other.readable_),
      peer_done_(other.peer_done_),
      closed_(std::exchange(other.closed_, true)),
      home_(other.home_) {}

tcp_stream::~tcp_stream() {
  // Open here only when the session was never closed (the I/O threads abandoned at shutdown).
  if (fd_ >= 0) {
    if (slot_ != fd_poller::no_slot && home_->poller) home_->poller->remove(fd_, slot_);
    ::close(fd_);
  }
}

bool tcp_stream::watch() {
  if (closed_) return false;
  if (slot_ != fd_poller::no_slot) return true;
  error_code ec;
  slot_ = home_->poller->add(fd_, *this, ec);
  if (slot_ == fd_poller::no_slot) {
    close();
    return false;
  }
  return true;
}

void tcp_stream::close() {
  if (closed_) return;
  closed_ = true;
  if (slot_ != fd_poller::no_slot) {
    home_->poller->remove(fd_, slot_);
    slot_ = fd_poller::no_slot;
  }
  ::shutdown(fd_, SHUT_WR);
  ::close(fd_);
  fd_ = -1;
  if (reader_) {
    boost::asio::post(get_executor(), [h = std::move(reader_)]() mutable {
      h(boost::asio::error::operation_aborted, {});
    });
  }
  if (pending_) {
    boost::asio::post(get_executor(), [p = std::move(pending_)] {
      p->handler(boost::asio::error::operation_aborted, p->sent);
    });
  }
}

void tcp_stream::on_events(std::uint32_t events) {
  const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
  // The peer's FIN or reset is a state, not a change: once seen it stays, or a short read
  // that took the last bytes before it would wait for an edge that never comes.
  if (failed || (events & EPOLLRDHUP)) peer_done_ = true;
  // What completes is taken out first and run last, from these locals: either handler may let
  // go of the session, and with it of this stream.
  read_handler got;
  error_code read_ec;
  std::size_t read_n = 0;
  if (peer_done_ || (events & EPOLLIN)) {
    readable_ = true;
    if (reader_ && receive(read_ec, read_n)) got = std::move(reader_);
  }
  std::unique_ptr<pending_write> wrote;
  error_code write_ec;
  if (pending_ && (failed || (events & EPOLLOUT)) && send_more(write_ec)) {
    wrote = std::move(pending_);
  }
  const std::span<const std::uint8_t> bytes(home_->read_buffer.data(), read_n);
  if (got) got(read_ec, bytes);
  if (wrote) wrote->handler(write_ec, wrote->sent);
}

void tcp_stream::abandon() {
  slot_ = fd_poller::no_slot;  // the poller is going
  // Either may hold the last reference to the session that holds this stream: they go last.
  read_handler r = std::move(reader_);
  std::unique_ptr<pending_write> w = std::move(pending_);
}

bool tcp_stream::receive(error_code& ec, std::size_t& n) {
  const std::span<std::uint8_t> buffer = home_->read_buffer;
  while (true) {
    const ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (got > 0) {
      // Short: the socket is empty for now, and new bytes bring a new edge, unless the peer
      // has finished (then the next read sees its end). Full: more is probably there. Either
      // way the next read tries at once (from a post).
      n = static_cast<std::size_t>(got);
      readable_ = peer_done_ || n == buffer.size();
      ec = {};
      return true;
    }
    if (got == 0) {
      ec = boost::asio::error::eof;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable_ = false;
      return false;
    }
    ec = error_code(errno, boost::system::system_category());
    return true;
  }
}

bool tcp_stream::send_more(error_code& ec) {
  pending_->sent += gather_send(fd_, *pending_->buffers, pending_->at, ec);
  return ec != boost::asio::error::would_block;
}

}  // namespace transport
