// The API's secret handlers. A secret is the caller's own: set, listed (names only) and removed
// by its owner; its value is written once and read only by the egress gateway's supervisor.
#include "common/log.h"
#include "server/api_server.h"

namespace agentos {

void ApiServer::do_secret_set(const Peer& p, const v1::SecretSetRequest& req, int value_fd, v1::Response& resp) {
  if (auto s = secrets_.set(p.uid, req.name(), value_fd); !s) {
    resp = error_response(api_code(s.error()), s.error().str());
    return;
  }
  log::info("secret " + req.name() + " of uid " + std::to_string(p.uid) + " set",
            {{"SECRET", req.name()}, {"OWNER_UID", std::to_string(p.uid)}});
  auto* out = resp.mutable_secret_changed();
  out->set_name(req.name());
  for (auto& c : agents_.secrets_changed(p.uid)) *out->add_changes() = std::move(c);
}

void ApiServer::do_secret_list(const Peer& p, v1::Response& resp) {
  auto list = secrets_.list(p.uid);
  if (!list) {
    resp = error_response(v1::Error::CODE_INTERNAL, list.error().str());
    return;
  }
  auto* out = resp.mutable_secret_list();
  for (const auto& s : *list) {
    auto* i = out->add_secrets();
    i->set_name(s.name);
    i->set_bytes(s.bytes);
    i->set_updated_unix(s.updated_unix);
  }
}

void ApiServer::do_secret_remove(const Peer& p, const v1::SecretRemoveRequest& req, v1::Response& resp) {
  if (auto s = secrets_.remove(p.uid, req.name()); !s) {
    resp = error_response(api_code(s.error()), s.error().str());
    return;
  }
  log::info("secret " + req.name() + " of uid " + std::to_string(p.uid) + " removed",
            {{"SECRET", req.name()}, {"OWNER_UID", std::to_string(p.uid)}});
  auto* out = resp.mutable_secret_changed();
  out->set_name(req.name());
  for (auto& c : agents_.secrets_changed(p.uid)) *out->add_changes() = std::move(c);
}

}  // namespace agentos
