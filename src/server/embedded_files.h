// Files compiled into the server (cmake/embed_files.cmake): the dashboard's assets and the
// OpenAPI document, served as they are.
#pragma once

#include <string_view>
#include <vector>

namespace edgebench::server {

struct EmbeddedFile {
  const char* url;           // where the server serves it: "/", "/app.js", "/v1/openapi.json"
  const char* content_type;
  std::string_view body;
};

const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace edgebench::server
