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

namespace edgebench::server {

void SendJson(httplib::Response& res, int status, const nlohmann::json& body);
void SendError(httplib::Response& res, const ApiError& error);

// Parses a request body that must be a JSON object of at most `max_bytes`; when `fields` is not
// empty, a key outside it is a 400 "unknown field".
ApiResult<nlohmann::json> ParseObject(const httplib::Request& req, int64_t max_bytes,
                                      const std::vector<std::string>& fields = {});
// The numeric id in the path's first group; 404 "`what` ID not found" when it is no number.
ApiResult<int64_t> PathId(const httplib::Request& req, const std::string& what);

// The token of the request ("Authorization: Bearer TOKEN"), if it is one of `kinds`: 401
// without a known token, 403 for another kind.
ApiResult<TokenRow> Authenticate(Store& store, const httplib::Request& req, std::initializer_list<TokenKind> kinds);
// The agent behind an agent token; `name` (from the path) must be it when given.
ApiResult<AgentRow> AuthenticateAgent(Store& store, const httplib::Request& req, const std::string& name = "");

nlohmann::json NullIfEmpty(const std::string& text);
nlohmann::json TaskJson(const TaskRow& task);
nlohmann::json ModelJson(const ModelRow& model);

// Body size limits checked from Content-Length before a body is read, JSON answers for
// unknown endpoints and for exceptions.
void InstallCommonHandlers(httplib::Server& http, const ServerOptions& options);

}  // namespace edgebench::server
