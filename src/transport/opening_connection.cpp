#include "transport/opening_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transport/stream_session.hpp"

namespace transport {

// The one instantiation of the session body for every handshake stream (see byte_stream.hpp).
template class stream_session<any_stream>;

namespace {

class opening_connection final : public session_base,
                                 public std::enable_shared_from_this<opening_connection> {
 public:
  opening_connection(std::shared_ptr<byte_stream> stream, const opening_context& context,
                     std::string kind, std::string remote_address, connection_slot slot)
      : slot_(std::move(slot)),
        stream_(std::move(stream)),
        context_(context),
        timer_(stream_->get_executor()),
        kind_(std::move(kind)),
        remote_address_(std::move(remote_address)) {}

  ~opening_connection() override {
    if (registry_id_ != 0) context_.registry.remove(registry_id_);
  }

  void start() {
    registry_id_ = context_.registry.add(weak_from_this());
    if (registry_id_ == 0) {  // the broker is shutting down
      finish();
      stream_->close();
      return;
    }
    timer_.expires_after(context_.deadline);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->done_) return;
      self->fail("handshake not finished within " +
                     std::to_string(self->context_.deadline.count() / 1000) + " s",
                 true);
    });
    stream_->async_open([self = shared_from_this()](const std::string& error, bool quiet) {
      if (self->done_) return;  // the deadline or shutdown came first
      if (!error.empty()) {
        self->fail(error, quiet);
        return;
      }
      self->finish();
      auto session = std::make_shared<stream_session<any_stream>>(
          any_stream(self->stream_), self->context_.core, self->context_.registry,
          self->remote_address_, self->kind_, std::move(self->slot_));
      session->start();
    });
  }

  void request_close() override {
    boost::asio::post(timer_.get_executor(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->close_now();
    });
  }

  void close_now() override {
    if (done_) return;
    finish();
    stream_->close();
  }

 private:
  void finish() {
    done_ = true;
    timer_.cancel();
    if (registry_id_ != 0) {
      context_.registry.remove(registry_id_);
      registry_id_ = 0;
    }
  }

  void fail(const std::string& error, bool quiet) {
    finish();
    const broker::log_level level = quiet ? broker::log_level::debug : broker::log_level::info;
    if (context_.log.enabled(level)) {
      context_.log.log(level, kind_ + ": handshake with " + remote_address_ + " failed: " + error);
    }
    stream_->close();
  }

  connection_slot slot_;  // handed to the session once the stream is open
  std::shared_ptr<byte_stream> stream_;
  opening_context context_;
  boost::asio::steady_timer timer_;
  std::string kind_;
  std::string remote_address_;
  std::uint32_t registry_id_ = 0;
  bool done_ = false;
};

}  // namespace

void open_then_serve(std::shared_ptr<byte_stream> stream, const opening_context& context,
                     std::string kind, std::string remote_address, connection_slot slot) {
  std::make_shared<opening_connection>(std::move(stream), context, std::move(kind),
                                       std::move(remote_address), std::move(slot))
      ->start();
}

}  // namespace transport
