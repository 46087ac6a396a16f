// POST /v1/users: the admin creates user tokens.
#include "handlers.h"
#include "http.h"
#include "tokens.h"
#include "validation.h"

namespace edgebench::server {
namespace {

void CreateUser(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin});
  if (!who.ok()) return SendError(res, who.error());
  auto body = ParseObject(req, context.options.max_request_bytes, {"name"});
  if (!body.ok()) return SendError(res, body.error());
  if (!body->contains("name") || !(*body)["name"].is_string()) return SendError(res, WrongType("name", "a string"));
  const std::string name = (*body)["name"].get<std::string>();
  if (!ValidName(name)) return SendError(res, BadName("name", name));
  const std::string secret = NewSecret();
  if (auto taken = context.store->AddUser(Sha256Hex(secret), name)) return SendError(res, *taken);
  SendJson(res, 201, {{"name", name}, {"token", secret}});
}

}  // namespace

void AddUserRoutes(httplib::Server& http, ServerContext& context) {
  http.Post("/v1/users", [&context](const httplib::Request& req, httplib::Response& res) {
    CreateUser(context, req, res);
  });
}

}  // namespace edgebench::server
