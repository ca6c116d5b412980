#include "transport/tls_context_source.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/ssl/context.hpp>

namespace transport {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

// TLS 1.2: forward secrecy and AEAD only (ECDHE with AES-GCM or ChaCha20-Poly1305), the
// "intermediate" profile of Mozilla's server-side TLS guidelines without the DHE suites. TLS 1.3
// suites are all AEAD; these are OpenSSL's, listed so a changed library default does not widen
// them silently.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* tls13_suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// Sessions resumed from the cache are only accepted with a context id once peers are verified.
constexpr unsigned char session_id_context[] = "mqtt-broker";

std::string describe(const error_code& ec) {
  std::string text = ec.message();
  ERR_clear_error();
  return text;
}

// Why `path` cannot be read (missing, no permission), or empty: OpenSSL's own messages for these
// are vague ("asio.ssl error", "system lib").
std::string unreadable(const std::string& path) {
  if (::access(path.c_str(), R_OK) == 0) return {};
  return std::strerror(errno);
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

// "subject CN=example.org, valid until Mar  1 12:00:00 2027 GMT".
std::string describe_certificate(SSL_CTX* native, bool& expired) {
  expired = false;
  X509* leaf = SSL_CTX_get0_certificate(native);
  if (!leaf) return "no certificate";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "certificate";
  BIO_puts(bio, "subject ");
  X509_NAME_print_ex(bio, X509_get_subject_name(leaf), 0, XN_FLAG_RFC2253);
  BIO_puts(bio, ", valid until ");
  ASN1_TIME_print(bio, X509_get0_notAfter(leaf));
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string text(data, size > 0 ? static_cast<std::size_t>(size) : 0);
  BIO_free(bio);
  expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
  return text;
}

struct build_result {
  std::shared_ptr<ssl::context> context;
  std::string error;        // when context is null
  std::string description;  // the certificate, for the log
  bool expired = false;
};

build_result failed(std::string error) {
  build_result result;
  result.error = std::move(error);
  return result;
}

build_result build_context(const tls_files& files) {
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return failed(std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2 and 1.3 only; our order of suites, not the client's; no renegotiation, no
  // compression (CRIME). With server preference, PRIORITIZE_CHACHA still lets a client that
  // lists ChaCha20 first (no AES hardware) have it.
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                                  SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(native, tls13_suites) != 1) {
    return failed("cannot set the cipher suites: " + openssl_error());
  }
  SSL_CTX_set_session_id_context(native, session_id_context, sizeof session_id_context - 1);
  // An encrypted key must fail to load rather than make OpenSSL prompt on the terminal.
  ctx->set_password_callback([](std::size_t, ssl::context::password_purpose) { return ""; });

  for (const auto& [option, path] :
       {std::pair<const char*, const std::string&>{"certfile", files.certfile},
        {"keyfile", files.keyfile},
        {"cafile", files.require_certificate ? files.cafile : files.certfile}}) {
    if (std::string why = unreadable(path); !why.empty()) {
      return failed(std::string(option) + " " + path + ": " + why);
    }
  }
  error_code ec;
  ctx->use_certificate_chain_file(files.certfile, ec);
  if (ec) return failed("certfile " + files.certfile + ": " + describe(ec));
  const std::string mismatch = "keyfile " + files.keyfile +
                               " is not the key of the certificate in certfile " + files.certfile;
  ctx->use_private_key_file(files.keyfile, ssl::context::pem, ec);
  if (ec) {
    const auto code = static_cast<unsigned long>(ec.value());
    if (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return failed(mismatch);
    }
    return failed("keyfile " + files.keyfile + ": " + describe(ec) +
                  " (it must be an unencrypted PEM private key)");
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return failed(mismatch);
  }
  if (files.require_certificate) {
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (!ec) ctx->load_verify_file(files.cafile, ec);
    if (ec) return failed("cafile " + files.cafile + ": " + describe(ec));
    // The CertificateRequest names these CAs, so a client with several certificates picks the
    // right one.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.cafile.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    ERR_clear_error();
  }
  build_result result;
  result.description = describe_certificate(native, result.expired);
  result.context = std::move(ctx);
  return result;
}

tls_context_source::file_stamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  tls_context_source::file_stamp stamp;
  stamp.exists = true;
  stamp.device = static_cast<std::uint64_t>(st.st_dev);
  stamp.inode = static_cast<std::uint64_t>(st.st_ino);
  stamp.size = static_cast<std::int64_t>(st.st_size);
  stamp.modified_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                      static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  return stamp;
}

}  // namespace

tls_context_source::tls_context_source(tls_files files, broker::logger& log,
                                       std::chrono::milliseconds check_interval)
    : files_(std::move(files)), log_(log), check_interval_(check_interval) {}

tls_context_source::~tls_context_source() = default;

std::vector<tls_context_source::file_stamp> tls_context_source::stamp_files() const {
  std::vector<file_stamp> stamps{stamp_of(files_.certfile), stamp_of(files_.keyfile)};
  if (files_.require_certificate) stamps.push_back(stamp_of(files_.cafile));
  return stamps;
}

std::optional<std::string> tls_context_source::load() {
  std::lock_guard lock(mutex_);
  const std::vector<file_stamp> stamps = stamp_files();
  build_result built = build_context(files_);
  if (!built.context) return "TLS: " + built.error;
  context_ = std::move(built.context);
  loaded_stamps_ = stamps;
  next_check_ = clock::now() + check_interval_;
  log_.log(
      broker::log_level::info,
      "TLS certificate " + files_.certfile + ": " + built.description +
          (files_.require_certificate ? "; client certificates required (CA " + files_.cafile + ")"
                                      : ""));
  if (built.expired) {
    log_.log(broker::log_level::warning,
             "TLS certificate " + files_.certfile + " has expired: clients will refuse it");
  }
  return std::nullopt;
}

std::shared_ptr<ssl::context> tls_context_source::current(clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now >= next_check_) {
    next_check_ = now + check_interval_;
    reload_if_changed();
  }
  return context_;
}

void tls_context_source::reload_if_changed() {
  const std::vector<file_stamp> stamps = stamp_files();
  if (stamps == loaded_stamps_ || stamps == failed_stamps_) return;
  build_result built = build_context(files_);
  if (!built.context) {
    // Often a renewal caught half-way (one file rewritten, not yet the other): the next change
    // is tried again.
    failed_stamps_ = stamps;
    log_.log(broker::log_level::error, "TLS: the certificate files changed but cannot be used (" +
                                           built.error +
                                           "); new connections still get the previous certificate");
    return;
  }
  context_ = std::move(built.context);
  loaded_stamps_ = stamps;
  failed_stamps_.clear();
  log_.log(broker::log_level::info, "TLS certificate reloaded from " + files_.certfile + ": " +
                                        built.description +
                                        "; open connections keep the previous one");
  if (built.expired) {
    log_.log(broker::log_level::warning,
             "TLS certificate " + files_.certfile + " has expired: clients will refuse it");
  }
}

}  // namespace transport
