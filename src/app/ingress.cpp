#include "app/ingress.hpp"

namespace app {

transport::http_service ingress_service(addon::web_api& api, bool in_addon) {
  transport::http_service service;
  service.handle = [&api](const transport::http_request& r) {
    addon::web_response out =
        api.handle({r.method, r.target, r.content_type, r.body, r.ingress_path});
    return transport::http_response{out.status, std::move(out.content_type), std::move(out.body),
                                    out.cacheable};
  };
  service.live_status = [&api] { return api.live_status(); };
  service.on_limit = [&api](transport::http_limit l) {
    switch (l) {
      case transport::http_limit::connections:
        return api.count_limit(addon::web_api::limit::connections);
      case transport::http_limit::websockets:
        return api.count_limit(addon::web_api::limit::websockets);
      case transport::http_limit::header_size:
        return api.count_limit(addon::web_api::limit::header_size);
      case transport::http_limit::body_size:
        return api.count_limit(addon::web_api::limit::body_size);
      case transport::http_limit::deadline:
        return api.count_limit(addon::web_api::limit::deadline);
    }
  };
  if (in_addon) service.only_peer = supervisor_ingress_address;
  return service;
}

}  // namespace app
