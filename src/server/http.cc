#include "http.h"

#include <regex>

#include "tokens.h"
#include "validation.h"

namespace edgebench::server {

using json = nlohmann::json;

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const ApiError& error) {
  SendJson(res, error.status, {{"error", error.message}});
}

ApiResult<json> ParseObject(const httplib::Request& req, int64_t max_bytes, const std::vector<std::string>& fields) {
  if (static_cast<int64_t>(req.body.size()) > max_bytes) {
    return TooLarge(static_cast<int64_t>(req.body.size()), max_bytes, "request body");
  }
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return ApiError{400, "malformed JSON in the request body"};
  if (!body.is_object()) return ApiError{400, "the request body must be a JSON object"};
  if (auto unknown = CheckKnownFields(body, fields)) return *unknown;
  return body;
}

ApiResult<int64_t> PathId(const httplib::Request& req, const std::string& what) {
  try {
    return static_cast<int64_t>(std::stoll(req.matches[1]));
  } catch (const std::exception&) {
    return ApiError{404, what + " " + std::string(req.matches[1]) + " not found"};
  }
}

ApiResult<TokenRow> Authenticate(Store& store, const httplib::Request& req, std::initializer_list<TokenKind> kinds) {
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0 || header.size() == prefix.size()) {
    return ApiError{401, "missing 'Authorization: Bearer TOKEN' header"};
  }
  auto token = store.FindToken(Sha256Hex(header.substr(prefix.size())));
  if (!token) return ApiError{401, "invalid token"};
  for (TokenKind kind : kinds) {
    if (token->kind == kind) return *token;
  }
  return ApiError{403, "a " + std::string(TokenKindName(token->kind)) + " token cannot use this endpoint"};
}

ApiResult<AgentRow> AuthenticateAgent(Store& store, const httplib::Request& req, const std::string& name) {
  auto token = Authenticate(store, req, {TokenKind::kAgent});
  if (!token.ok()) return token.error();
  if (!name.empty() && token->subject != name) {
    return ApiError{403, "this token belongs to agent '" + token->subject + "', not '" + name + "'"};
  }
  auto agent = store.FindAgent(token->subject);
  if (!agent) return ApiError{401, "agent '" + token->subject + "' is not registered"};
  return *agent;
}

json NullIfEmpty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json TaskJson(const TaskRow& t) {
  return {{"id", t.id},
          {"state", t.state},
          {"model_sha256", t.model_sha256},
          {"model_name", t.model_name},
          {"runtime", t.runtime},
          {"device", NullIfEmpty(t.device)},
          {"selector", t.selector},
          {"settings", t.settings},
          {"attempts", t.attempts},
          {"agent", NullIfEmpty(t.agent_name)},
          {"lease_deadline", t.lease_deadline_ms > 0 ? json(IsoUtc(t.lease_deadline_ms)) : json(nullptr)},
          {"created_at", t.created_at},
          {"assigned_at", NullIfEmpty(t.assigned_at)},
          {"started_at", NullIfEmpty(t.started_at)},
          {"finished_at", NullIfEmpty(t.finished_at)},
          {"error", NullIfEmpty(t.error)},
          {"owner", t.owner},
          {"has_result", t.has_result},
          {"repeat_invalid", t.repeat_invalid},
          {"result_attempts", t.result_attempts},
          {"job", t.job_id ? json(*t.job_id) : json(nullptr)},
          {"compare", t.compare}};
}

json ModelJson(const ModelRow& m) {
  return {{"sha256", m.sha256}, {"size_bytes", m.size_bytes}, {"format", m.format}, {"name", m.name}};
}

void InstallCommonHandlers(httplib::Server& http, const ServerOptions& options) {
  using R = const httplib::Request&;
  using W = httplib::Response&;
  // Bodies over the limits are refused from their Content-Length, before they are read
  // (ParseObject checks the size of bodies sent without one).
  http.set_pre_routing_handler([&options](R req, W res) {
    if (!req.has_header("Content-Length")) return httplib::Server::HandlerResponse::Unhandled;
    int64_t length = 0;
    try {
      length = std::stoll(req.get_header_value("Content-Length"));
    } catch (const std::exception&) {
      SendError(res, {400, "bad Content-Length header"});
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool model = req.method == "POST" && req.path == "/v1/models";
    static const std::regex kResultPath(R"(/v1/tasks/\d+/result)");  // compiled once, not per request
    const bool result = req.method == "POST" && std::regex_match(req.path, kResultPath);
    const int64_t limit = model ? options.max_model_bytes : result ? options.max_result_bytes : options.max_request_bytes;
    if (length <= limit) return httplib::Server::HandlerResponse::Unhandled;
    SendError(res, TooLarge(length, limit, model ? "model" : result ? "result document" : "request body"));
    res.set_header("Connection", "close");  // the unread body must not be taken for a request
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](R req, W res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendJson(res, 404, {{"error", "no such endpoint: " + req.method + " " + req.path}});
    } else if (res.status >= 400) {
      SendJson(res, res.status, {{"error", "HTTP " + std::to_string(res.status)}});
    }
  });
  http.set_exception_handler([](R, W res, std::exception_ptr error) {
    std::string message = "internal error";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message += std::string(": ") + e.what();
    } catch (...) {
    }
    SendJson(res, 500, {{"error", message}});
  });
}

}  // namespace edgebench::server
