#include "http.h"

#include <iostream>
#include <iterator>
#include <regex>

#include "tokens.h"
#include "validation.h"

namespace edgebench::server {

using json = nlohmann::json;

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Invalid UTF-8 in a stored string (a model name from before names were checked) is replaced,
  // not thrown on: an answer never fails after its change was committed (a lease).
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, const ApiError& error) {
  SendJson(res, error.status, {{"error", error.message}});
}

ApiResult<json> ParseObject(const httplib::Request& req, int64_t max_bytes, const std::vector<std::string>& fields,
                            const std::string& what, const JsonLimits& limits) {
  if (static_cast<int64_t>(req.body.size()) > max_bytes) {
    return TooLarge(static_cast<int64_t>(req.body.size()), max_bytes, what);
  }
  auto body = ParseJsonObject(req.body, what, limits);
  if (!body.ok()) return body.error();
  if (auto unknown = CheckKnownFields(*body, fields)) return *unknown;
  return body;
}

ApiResult<int64_t> PathId(const httplib::Request& req, const std::string& what) {
  try {
    return static_cast<int64_t>(std::stoll(req.matches[1]));
  } catch (const std::exception&) {
    return ApiError{404, what + " " + std::string(req.matches[1]) + " not found"};
  }
}

ApiResult<std::optional<int64_t>> QueryInteger(const httplib::Request& req, const std::string& name, int64_t min,
                                               int64_t max) {
  if (!req.has_param(name)) return std::optional<int64_t>();
  const std::string text = req.get_param_value(name);
  auto bad = [&] {
    return ApiError{400, "query parameter '" + name + "' must be an integer in [" + std::to_string(min) + ", " +
                             std::to_string(max) + "]"};
  };
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos ||
      req.get_param_value_count(name) != 1) {
    return bad();
  }
  const int64_t value = std::stoll(text);
  if (value < min || value > max) return bad();
  return std::optional<int64_t>(value);
}

ApiResult<int> PageLimit(const httplib::Request& req) {
  auto limit = QueryInteger(req, "limit", 1, kMaxPageLimit);
  if (!limit.ok()) return limit.error();
  return static_cast<int>(limit->value_or(kDefaultPageLimit));
}

// The value of the request's one `name` header, whole: httplib's get_header_value stops at a NUL.
std::optional<std::string> HeaderValue(const httplib::Request& req, const std::string& name) {
  auto [first, last] = req.headers.equal_range(name);
  if (first == last || std::next(first) != last) return std::nullopt;
  return first->second;
}

namespace {

// The credential of the request's token, if it is one of `kinds` (Authenticate's answers).
ApiResult<Store::Credential> Credential(Store& store, const httplib::Request& req,
                                        std::initializer_list<TokenKind> kinds) {
  const std::string prefix = "Bearer ";
  const auto header = HeaderValue(req, "Authorization");
  if (!header || header->rfind(prefix, 0) != 0 || header->size() == prefix.size()) {
    return ApiError{401, "missing 'Authorization: Bearer TOKEN' header (exactly one)"};
  }
  // Tokens are hex secrets (NewSecret): anything else (a NUL and junk after one) is no token.
  const std::string secret = header->substr(prefix.size());
  static const std::regex kToken("[0-9A-Za-z._~+/=-]{1,256}");
  if (!std::regex_match(secret, kToken)) return ApiError{401, "invalid token"};
  auto credential = store.FindCredential(Sha256Hex(secret));
  if (!credential) return ApiError{401, "invalid token"};
  for (TokenKind kind : kinds) {
    if (credential->token.kind == kind) return *credential;
  }
  return ApiError{403, "a " + std::string(TokenKindName(credential->token.kind)) + " token cannot use this endpoint"};
}

}  // namespace

ApiResult<TokenRow> Authenticate(Store& store, const httplib::Request& req, std::initializer_list<TokenKind> kinds) {
  auto credential = Credential(store, req, kinds);
  if (!credential.ok()) return credential.error();
  return credential->token;
}

ApiResult<AgentRow> AuthenticateAgent(Store& store, const httplib::Request& req, const std::string& name) {
  auto credential = Credential(store, req, {TokenKind::kAgent});
  if (!credential.ok()) return credential.error();
  const std::string& subject = credential->token.subject;
  if (!name.empty() && subject != name) {
    return ApiError{403, "this token belongs to agent '" + subject + "', not '" + name + "'"};
  }
  if (!credential->agent) return ApiError{401, "agent '" + subject + "' is not registered"};
  return *credential->agent;
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
    using Handled = httplib::Server::HandlerResponse;
    auto refuse = [&res](const ApiError& error) {
      SendError(res, error);
      res.set_header("Connection", "close");  // an unread body must not be taken for a request
      return Handled::Handled;
    };
    const bool model = req.method == "POST" && req.path == "/v1/models";
    // httplib reads these; the request is ours to adjust before it does (it is not const there).
    auto& headers = const_cast<httplib::Request&>(req).headers;
    const std::size_t lengths = req.get_header_value_count("Content-Length");
    const bool chunked = req.has_header("Transfer-Encoding");
    if (lengths > 1) return refuse({400, "more than one Content-Length header"});
    if (lengths == 1 && chunked) return refuse({400, "both Content-Length and Transfer-Encoding headers"});
    if (lengths == 0 && !chunked) {
      // No body (RFC 9112 6.3), where httplib would wait for the connection to close:
      // `curl -X POST .../cancel` without data.
      if (req.method == "POST") headers.emplace("Content-Length", "0");
      return Handled::Unhandled;
    }
    if (!model && req.is_multipart_form_data()) {
      return refuse({415, "send the JSON document as the request body (Content-Type: application/json), "
                          "not multipart/form-data"});
    }
    // JSON bodies are JSON whatever the Content-Type says: `curl --data-binary @result.json`
    // sends application/x-www-form-urlencoded, which httplib would parse as a form (and cap at 8 KiB).
    if (!model && req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      headers.erase("Content-Type");
      headers.emplace("Content-Type", "application/json");
    }
    if (chunked) return Handled::Unhandled;
    const std::string text = req.headers.find("Content-Length")->second;
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
      return refuse({400, "bad Content-Length header (a decimal number of bytes)"});
    }
    const int64_t length = std::stoll(text);
    static const std::regex kResultPath(R"(/v1/tasks/\d+/result)");  // compiled once, not per request
    const bool result = req.method == "POST" && std::regex_match(req.path, kResultPath);
    const int64_t limit = model ? options.max_model_bytes : result ? options.max_result_bytes : options.max_request_bytes;
    if (length <= limit) return Handled::Unhandled;
    return refuse(TooLarge(length, limit, model ? "model" : result ? "result document" : "request body"));
  });
  http.set_error_handler([](R req, W res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendJson(res, 404, {{"error", "no such endpoint: " + req.method + " " + req.path}});
    } else if (res.status >= 400) {
      SendJson(res, res.status, {{"error", "HTTP " + std::to_string(res.status)}});
    }
  });
  // The exception's text is for the server's log, not for clients: library messages are no API.
  http.set_exception_handler([](R req, W res, std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::cerr << "edgebench server: internal error in " << req.method << " " << req.path << ": " << what << std::endl;
    SendJson(res, 500, {{"error", "internal error (" + req.method + " " + req.path + "); the server's log has the cause"}});
  });
}

}  // namespace edgebench::server
