// GET/POST /v1/images: the runtime images of docker-mode agents (images.h).
#include "handlers.h"
#include "http.h"
#include "validation.h"

namespace edgebench::server {
namespace {

// Any token may read the catalog (agents read it before registering); ?arch= filters.
void ListImages(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req,
                          {TokenKind::kAdmin, TokenKind::kUser, TokenKind::kAgent, TokenKind::kRegistration});
  if (!who.ok()) return SendError(res, who.error());
  SendJson(res, 200, {{"images", context.images->ToJson(req.has_param("arch") ? req.get_param_value("arch") : "")}});
}

void AddImage(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin});
  if (!who.ok()) return SendError(res, who.error());
  auto body = ParseObject(req, context.options.max_request_bytes);
  if (!body.ok()) return SendError(res, body.error());
  for (const char* field : {"runtime", "arch", "image"}) {
    if (!body->contains(field) || !(*body)[field].is_string()) return SendError(res, WrongType(field, "a string"));
  }
  Status added = context.images->Add((*body)["runtime"], (*body)["arch"], (*body)["image"]);
  if (!added.ok()) {
    const int status = added.error().code == ErrorCode::kInvalidArgument ? 400 : 500;
    return SendError(res, {status, added.error().message});
  }
  SendJson(res, 201, {{"images", context.images->ToJson()}});
}

}  // namespace

void AddImageRoutes(httplib::Server& http, ServerContext& context) {
  http.Get("/v1/images", Gated(context, ListImages));
  http.Post("/v1/images", Gated(context, AddImage));
}

}  // namespace edgebench::server
