// The OpenAPI document (docs/openapi.json, served at /v1/openapi.json) against the routes the
// server registers (Routes()): the same operations, each path parameter declared. The examples
// in it are checked against a running server by tests/openapi_examples_test.cc.
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "embedded_files.h"
#include "handlers.h"

namespace edgebench::server {
namespace {

using json = nlohmann::json;

json Document() {
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (std::string(file.url) == "/v1/openapi.json") return json::parse(file.body, nullptr, false);
  }
  return nullptr;
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

TEST(OpenApiTest, DocumentIsOpenApi31) {
  const json document = Document();
  ASSERT_TRUE(document.is_object()) << "docs/openapi.json is not embedded or not JSON";
  EXPECT_EQ(document.value("openapi", ""), "3.1.0");
  EXPECT_TRUE(document["info"].contains("title"));
  EXPECT_TRUE(document["info"].contains("version"));
}

TEST(OpenApiTest, DocumentNamesEveryRouteAndNoOther) {
  const json document = Document();
  ASSERT_TRUE(document.is_object());
  std::set<std::string> documented, registered;
  for (const auto& [path, item] : document["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method != "parameters") documented.insert(Lower(method) + " " + path);
    }
  }
  for (const Route& route : Routes()) registered.insert(Lower(route.method) + " " + route.path);
  for (const auto& operation : registered) {
    EXPECT_TRUE(documented.count(operation)) << operation << ": registered by the server, missing from docs/openapi.json";
  }
  for (const auto& operation : documented) {
    EXPECT_TRUE(registered.count(operation)) << operation << ": in docs/openapi.json, not a route of the server";
  }
}

TEST(OpenApiTest, EveryPathParameterIsDeclared) {
  const json document = Document();
  ASSERT_TRUE(document.is_object());
  const std::regex parameter(R"(\{([a-z0-9_]+)\})");
  for (const auto& [path, item] : document["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      std::set<std::string> declared;
      for (const json* parameters : {&item, &operation}) {
        for (const auto& p : parameters->value("parameters", json::array())) {
          if (p.value("in", "") == "path") declared.insert(p.value("name", ""));
        }
      }
      for (std::sregex_iterator it(path.begin(), path.end(), parameter), end; it != end; ++it) {
        EXPECT_TRUE(declared.count((*it)[1])) << method << " " << path << ": path parameter " << (*it)[1]
                                              << " is not declared";
      }
      EXPECT_FALSE(operation.value("responses", json::object()).empty()) << method << " " << path << ": no responses";
    }
  }
}

TEST(OpenApiTest, RoutePatternMatchesParameters) {
  EXPECT_EQ(RoutePattern("/v1/tasks/{id}/cancel"), R"(/v1/tasks/(\d+)/cancel)");
  EXPECT_EQ(RoutePattern("/v1/agents/{name}/lease"), "/v1/agents/([^/]+)/lease");
  EXPECT_EQ(RoutePattern("/v1/models/{sha256}"), "/v1/models/([0-9a-f]{64})");
  EXPECT_EQ(RoutePattern("/v1/openapi.json"), R"(/v1/openapi\.json)");
}

}  // namespace
}  // namespace edgebench::server
