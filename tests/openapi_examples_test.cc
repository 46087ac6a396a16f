// The examples of the OpenAPI document (docs/openapi.json) against a real `edgebench server`: one
// scenario calls every operation, sending the documented request example (the model's sha256
// swapped for the one uploaded here) and comparing each answer with the documented response
// example of its status: the same keys, recursively, with values of the same JSON type. An
// example object with a "..." key allows keys it does not list; a null example value stands for
// any value; top-level keys the response schema declares (`properties`) may be added. Every
// example in the document must be exercised.
//
// EDGEBENCH_OPENAPI_EXAMPLES_OUT=FILE writes the real requests and answers to FILE, from which
// tools/openapi_examples.py refreshes the document's examples.
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/service_fixture.h"

namespace edgebench {
namespace {

using json = nlohmann::json;
using testing::Edgebench;
using testing::ReadFile;

std::string TypeOf(const json& value) {
  if (value.is_number()) return "number";
  return value.type_name();
}

// Where `real` departs from `example` (empty when it conforms); `allowed` are extra keys
// permitted at the top level.
void Conform(const json& example, const json& real, const std::string& at, const std::set<std::string>& allowed,
             std::vector<std::string>& problems) {
  if (example.is_null()) return;
  if (TypeOf(example) != TypeOf(real)) {
    problems.push_back(at + ": documented " + TypeOf(example) + ", answered " + TypeOf(real));
    return;
  }
  if (example.is_object()) {
    const bool open = example.empty() || example.contains("...");
    for (const auto& [key, value] : example.items()) {
      if (key == "...") continue;
      if (!real.contains(key)) {
        problems.push_back(at + "." + key + ": documented, missing from the answer");
      } else {
        Conform(value, real[key], at + "." + key, {}, problems);
      }
    }
    for (const auto& [key, value] : real.items()) {
      if (!open && !example.contains(key) && !allowed.count(key)) {
        problems.push_back(at + "." + key + ": in the answer, not in the example");
      }
    }
  } else if (example.is_array() && !example.empty()) {
    for (std::size_t i = 0; i < real.size(); ++i) {
      Conform(example[0], real[i], at + "[" + std::to_string(i) + "]", {}, problems);
    }
  }
}

class OpenApiExamplesTest : public testing::ServiceFixture {
 protected:
  const json& Operation(const std::string& method, const std::string& path) {
    static const json none;
    const json& paths = document_["paths"];
    if (!paths.contains(path) || !paths[path].contains(method)) return none;
    return paths[path][method];
  }

  json Resolve(const json& node) {
    if (!node.is_object() || !node.contains("$ref")) return node;
    const std::string ref = node["$ref"];  // "#/components/schemas/Task"
    return Resolve(document_[json::json_pointer(ref.substr(1))]);
  }

  // The documented request example with the example model's sha256 replaced by `sha_`.
  std::string RequestExample(const json& operation) {
    const json body = operation.value("requestBody", json::object()).value("content", json::object());
    if (!body.contains("application/json") || !body["application/json"].contains("example")) return "";
    std::string text = body["application/json"]["example"].dump();
    for (std::size_t at = text.find(example_sha_); !example_sha_.empty() && at != std::string::npos;
         at = text.find(example_sha_, at + sha_.size())) {
      text.replace(at, example_sha_.size(), sha_);
    }
    return text;
  }

  // Sends METHOD path (as the document writes it) at `concrete`, with `body` or the documented
  // request example; expects `status` and checks the answer against the documented example.
  json Call(const std::string& method, const std::string& path, const std::string& concrete, const std::string& token,
            int status, std::string body = "", const std::string& type = "application/json") {
    const json& operation = Operation(method, path);
    EXPECT_FALSE(operation.is_null()) << method << " " << path << " is not in the document";
    if (operation.is_null()) return nullptr;
    const bool documented_request = body.empty();
    if (documented_request) body = RequestExample(operation);
    if (documented_request && !body.empty()) examples_used_.insert(method + " " + path + " request");
    auto client = Http(token);
    httplib::Result res = method == "get" ? client.Get(concrete.c_str())
                                          : client.Post(concrete.c_str(), body, type.c_str());
    EXPECT_TRUE(res) << method << " " << concrete << ": no answer";
    if (!res) return nullptr;
    EXPECT_EQ(res->status, status) << method << " " << concrete << ": " << res->body;
    const json answer = json::parse(res->body, nullptr, false);
    const std::string code = std::to_string(res->status);
    if (!answer.is_discarded()) recorded_[method + " " + path]["responses"][code] = answer;
    if (documented_request && !body.empty()) recorded_[method + " " + path]["request"] = json::parse(body);
    const json response = Resolve(operation["responses"].value(code, json::object()));
    const json content = response.value("content", json::object()).value("application/json", json::object());
    if (content.contains("example")) {
      examples_used_.insert(method + " " + path + " " + code);
      std::set<std::string> allowed;
      const json properties = Resolve(content.value("schema", json::object())).value("properties", json::object());
      for (const auto& [key, value] : properties.items()) allowed.insert(key);
      std::vector<std::string> problems;
      Conform(content["example"], answer, "answer", allowed, problems);
      for (const auto& problem : problems) ADD_FAILURE() << method << " " << path << " " << code << ": " << problem;
    }
    return answer;
  }

  // The examples the document holds: "METHOD path STATUS" and "METHOD path request".
  std::set<std::string> DocumentedExamples() {
    std::set<std::string> examples;
    for (const auto& [path, item] : document_["paths"].items()) {
      for (const auto& [method, operation] : item.items()) {
        const json request = operation.value("requestBody", json::object()).value("content", json::object());
        if (request.contains("application/json") && request["application/json"].contains("example")) {
          examples.insert(method + " " + path + " request");
        }
        const json responses = operation.value("responses", json::object());
        for (const auto& [code, response] : responses.items()) {
          const json content = Resolve(response).value("content", json::object()).value("application/json", json::object());
          if (content.contains("example")) examples.insert(method + " " + path + " " + code);
        }
      }
    }
    return examples;
  }

  json document_;
  std::string sha_, example_sha_;
  std::set<std::string> examples_used_;
  json recorded_ = json::object();
};

TEST_F(OpenApiExamplesTest, ExamplesMatchTheServer) {
  const std::string model = testing::ZooModel("tinycnn", "onnx");
  EB_REQUIRE_FILE(model);
  StartServer();
  // The served document is the repository's.
  auto served = httplib::Client(url_).Get("/v1/openapi.json");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200);
  document_ = json::parse(served->body, nullptr, false);
  ASSERT_TRUE(document_.is_object());
  EXPECT_EQ(document_, json::parse(ReadFile(std::string(EDGEBENCH_SOURCE_DIR) + "/docs/openapi.json")));
  examples_used_.insert("get /v1/openapi.json 200");

  Call("get", "/v1/health", "/v1/health", "", 200);
  const json user = Call("post", "/v1/users", "/v1/users", admin_token_, 201);
  ASSERT_TRUE(user.is_object());
  Call("post", "/v1/users", "/v1/users", user.value("token", ""), 403);
  Call("get", "/v1/tasks", "/v1/tasks", "", 401);

  // A device that this test drives: registration, lease, heartbeat, result.
  const json agent = Call("post", "/v1/agents", "/v1/agents", registration_token_, 201);
  ASSERT_TRUE(agent.is_object());
  const std::string agent_name = agent.value("name", "");
  const std::string agent_token = agent.value("token", "");
  const json uploaded = Call("post", "/v1/models", "/v1/models?name=tinycnn.onnx", admin_token_, 201, ReadFile(model),
                             "application/octet-stream");
  ASSERT_TRUE(uploaded.is_object());
  sha_ = uploaded.value("sha256", "");
  const json documented_model = Resolve(Operation("post", "/v1/models")["responses"]["201"])["content"]
                                    ["application/json"].value("example", json::object());
  example_sha_ = documented_model.value("sha256", "");

  const json task = Call("post", "/v1/tasks", "/v1/tasks", admin_token_, 201);
  ASSERT_TRUE(task.is_object());
  const std::string id = std::to_string(task.value("id", 0));
  Call("get", "/v1/tasks", "/v1/tasks", admin_token_, 200);
  Call("get", "/v1/tasks/{id}", "/v1/tasks/999", admin_token_, 404);
  Call("post", "/v1/agents/{name}/lease", "/v1/agents/" + agent_name + "/lease", agent_token, 200);
  Call("get", "/v1/models/{sha256}", "/v1/models/" + sha_, agent_token, 200);
  Call("post", "/v1/tasks/{id}/heartbeat", "/v1/tasks/" + id + "/heartbeat", agent_token, 200);
  auto bench = Edgebench({"bench", model, "-r", "null", "--min-runs", "5", "--warmup-runs", "1", "--warmup-min-ms", "0",
                          "--min-duration-ms", "0", "-q", "--json", "-"});
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  Call("post", "/v1/tasks/{id}/result", "/v1/tasks/" + id + "/result", agent_token, 201, bench.out);
  Call("post", "/v1/tasks/{id}/result", "/v1/tasks/" + id + "/result", agent_token, 200, bench.out);
  Call("get", "/v1/tasks/{id}", "/v1/tasks/" + id, admin_token_, 200);
  Call("get", "/v1/tasks/{id}/results", "/v1/tasks/" + id + "/results", admin_token_, 200);
  Call("post", "/v1/tasks/{id}/cancel", "/v1/tasks/" + id + "/cancel", admin_token_, 409);

  // A job of one task, left queued (this device leases no more), then cancelled.
  const json job = Call("post", "/v1/jobs", "/v1/jobs", admin_token_, 201);
  ASSERT_TRUE(job.is_object());
  const std::string job_id = std::to_string(job.value("id", 0));
  Call("get", "/v1/jobs", "/v1/jobs", admin_token_, 200);
  Call("get", "/v1/jobs/{id}", "/v1/jobs/" + job_id, admin_token_, 200);
  Call("post", "/v1/jobs/{id}/cancel", "/v1/jobs/" + job_id + "/cancel", admin_token_, 200);
  const json queued = Call("post", "/v1/tasks", "/v1/tasks", admin_token_, 201);
  ASSERT_TRUE(queued.is_object());
  Call("post", "/v1/tasks/{id}/cancel", "/v1/tasks/" + std::to_string(queued.value("id", 0)) + "/cancel", admin_token_,
       200);
  Call("post", "/v1/tasks", "/v1/tasks", admin_token_, 422,
       json{{"model_sha256", sha_}, {"runtime", "tflite"}, {"device", agent_name}}.dump());

  Call("get", "/v1/devices", "/v1/devices", admin_token_, 200);
  Call("post", "/v1/images", "/v1/images", admin_token_, 201);
  Call("get", "/v1/images", "/v1/images", agent_token, 200);

  if (const char* out = std::getenv("EDGEBENCH_OPENAPI_EXAMPLES_OUT")) {
    std::ofstream(out) << recorded_.dump(1) << "\n";
  }
  for (const auto& example : DocumentedExamples()) {
    EXPECT_TRUE(examples_used_.count(example)) << example << ": documented, not checked by this test";
  }
}

}  // namespace
}  // namespace edgebench
