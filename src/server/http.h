// The HTTP layer shared by the handlers: JSON answers, request parsing, authentication, the
// JSON faces of stored rows, and the handlers that apply to every route (size limits, errors).
#pragma once

#include <httplib.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "edgebench/server.h"
#include "store.h"
#include "validation.h"

namespace edgebench::server {

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
void SendError(httplib::Response& res, const ApiError& error);

// Parses a request body that must be a JSON object of at most `max_bytes` within `limits`
// (validation.h's ParseJsonObject; `what` names the body in errors); when `fields` is not empty,
// a key outside it is a 400 "unknown field". Every handler takes its JSON body through here.
ApiResult<nlohmann::json> ParseObject(const httplib::Request& req, int64_t max_bytes,
                                      const std::vector<std::string>& fields = {},
                                      const std::string& what = "request body",
                                      const JsonLimits& limits = kRequestJsonLimits);
// The numeric id in the path's first group; 404 "`what` ID not found" when it is no number.
ApiResult<int64_t> PathId(const httplib::Request& req, const std::string& what);

// The query parameter `name` as an integer in [min, max]; nullopt when absent; 400 naming it otherwise.
ApiResult<std::optional<int64_t>> QueryInteger(const httplib::Request& req, const std::string& name, int64_t min,
                                               int64_t max);

// Pages of the list endpoints: ?limit= items (default and maximum here) after the cursor ?after=.
inline constexpr int kDefaultPageLimit = 100;
inline constexpr int kMaxPageLimit = 1000;
ApiResult<int> PageLimit(const httplib::Request& req);

// The token of the request ("Authorization: Bearer TOKEN"), if it is one of `kinds`: 401
// without a known token, 403 for another kind.
ApiResult<TokenRow> Authenticate(Store& store, const httplib::Request& req, std::initializer_list<TokenKind> kinds);
// The agent behind an agent token; `name` (from the path) must be it when given.
ApiResult<AgentRow> AuthenticateAgent(Store& store, const httplib::Request& req, const std::string& name = "");

nlohmann::json NullIfEmpty(const std::string& text);
nlohmann::json TaskJson(const TaskRow& task);
nlohmann::json ModelJson(const ModelRow& model);

// Before a body is read: a strict Content-Length (one, decimal) and its size limits, no body
// when a POST has neither Content-Length nor chunks, JSON read whatever the Content-Type (curl's
// default form type too), multipart refused but on model uploads. After: JSON answers for
// unknown endpoints, and for exceptions (a stable message; the exception text goes to the log).
void InstallCommonHandlers(httplib::Server& http, const ServerOptions& options);

}  // namespace edgebench::server
