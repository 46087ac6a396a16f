// A client of the Docker Engine API (v1.41, Docker 20.10+) over its Unix socket, for the
// agent's docker mode. Plain HTTP/1.1 with "Connection: close", one request per connection.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "edgebench/status.h"

namespace edgebench::agent {

struct EngineAnswer {
  int status = 0;
  std::string body;
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

class DockerEngine {
 public:
  // socket_path "" = $DOCKER_HOST when it is unix://PATH, else /var/run/docker.sock.
  explicit DockerEngine(std::string socket_path = "");

  const std::string& socket_path() const { return socket_path_; }
  // The engine's {"Version", "ApiVersion", ...}; an error when nothing answers.
  Expected<nlohmann::json> Version(int timeout_seconds = 5) const;
  Expected<EngineAnswer> Request(const std::string& method, const std::string& path,
                                 const nlohmann::json& body, int timeout_seconds) const;
  // Pulls `reference` (host/repo:tag or @digest); the error carries the engine's message.
  Status Pull(const std::string& reference, int timeout_seconds) const;
  // A container's stdout+stderr (the multiplexed log stream of a non-TTY container, joined).
  Expected<std::string> Logs(const std::string& id) const;

 private:
  std::string socket_path_;
};

}  // namespace edgebench::agent
