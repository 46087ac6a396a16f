#include "docker_engine.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace edgebench::agent {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Decodes a chunked transfer-encoded body; false when it is malformed.
bool Dechunk(const std::string& raw, std::string& out) {
  size_t at = 0;
  for (;;) {
    const size_t line_end = raw.find("\r\n", at);
    if (line_end == std::string::npos) return false;
    const size_t size = std::strtoul(raw.substr(at, line_end - at).c_str(), nullptr, 16);
    at = line_end + 2;
    if (size == 0) return true;
    if (at + size > raw.size()) return false;
    out.append(raw, at, size);
    at += size + 2;
  }
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace

DockerEngine::DockerEngine(std::string socket_path) : socket_path_(std::move(socket_path)) {
  if (socket_path_.empty()) {
    const char* host = std::getenv("DOCKER_HOST");
    const std::string prefix = "unix://";
    socket_path_ = host && std::string(host).rfind(prefix, 0) == 0 ? std::string(host).substr(prefix.size())
                                                                    : "/var/run/docker.sock";
  }
}

Expected<EngineAnswer> DockerEngine::Request(const std::string& method, const std::string& path, const json& body,
                                             int timeout_seconds) const {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return RuntimeError("socket() failed");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path_.c_str(), sizeof address.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string reason = std::strerror(errno);
    close(fd);
    return RuntimeError("no Docker engine answers on " + socket_path_ + " (" + reason + ")");
  }
  const std::string payload = body.is_null() ? "" : body.dump();
  std::ostringstream request;
  request << method << " /v1.41" << path << " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n";
  if (!body.is_null()) request << "Content-Type: application/json\r\n";
  request << "Content-Length: " << payload.size() << "\r\n\r\n" << payload;
  const std::string bytes = request.str();
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return RuntimeError("Docker engine: send failed");
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[1 << 16];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      close(fd);
      return RuntimeError("Docker engine: no answer to " + method + " " + path + " within " +
                          std::to_string(timeout_seconds) + " s");
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000))) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      close(fd);
      return RuntimeError("Docker engine: read failed");
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) {
    return RuntimeError("Docker engine: malformed answer to " + method + " " + path);
  }
  EngineAnswer answer;
  answer.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  std::string headers = raw.substr(0, header_end);
  for (auto& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string content = raw.substr(header_end + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos) {
    if (!Dechunk(content, answer.body)) return RuntimeError("Docker engine: malformed chunked answer");
  } else {
    answer.body = content;
  }
  return answer;
}

Expected<json> DockerEngine::Version(int timeout_seconds) const {
  auto answer = Request("GET", "/version", nullptr, timeout_seconds);
  if (!answer.ok()) return answer.error();
  json version = answer->Json();
  if (answer->status != 200 || !version.is_object()) {
    return RuntimeError("Docker engine on " + socket_path_ + ": GET /version answered " +
                        std::to_string(answer->status));
  }
  return version;
}

Status DockerEngine::Pull(const std::string& reference, int timeout_seconds) const {
  // fromImage takes the whole reference; the engine splits off the tag or digest.
  auto answer = Request("POST", "/images/create?fromImage=" + UrlEncode(reference), nullptr, timeout_seconds);
  if (!answer.ok()) return answer.error();
  if (answer->status != 200) {
    const json error = answer->Json();
    return RuntimeError("pull of " + reference + " failed: " +
                        (error.is_object() ? error.value("message", answer->body) : answer->body));
  }
  // 200 carries a stream of JSON progress lines; a failure mid-way is a line with "error".
  std::istringstream lines(answer->body);
  std::string line;
  while (std::getline(lines, line)) {
    const json item = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (item.is_object() && item.contains("error")) {
      return RuntimeError("pull of " + reference + " failed: " + item["error"].get<std::string>());
    }
  }
  return OkStatus();
}

Expected<std::string> DockerEngine::Logs(const std::string& id) const {
  auto answer = Request("GET", "/containers/" + id + "/logs?stdout=1&stderr=1", nullptr, 30);
  if (!answer.ok()) return answer.error();
  if (answer->status != 200) return RuntimeError("Docker engine: logs of " + id + " answered " +
                                                 std::to_string(answer->status));
  // Frames of [stream, 0, 0, 0, size (4 bytes, big-endian)] + payload.
  std::string text;
  const std::string& raw = answer->body;
  for (size_t at = 0; at + 8 <= raw.size();) {
    const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(raw[at + i])); };
    const uint32_t size = byte(4) << 24 | byte(5) << 16 | byte(6) << 8 | byte(7);
    text.append(raw, at + 8, size);
    at += 8 + size;
  }
  return text;
}

}  // namespace edgebench::agent
