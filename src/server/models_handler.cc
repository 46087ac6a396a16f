// POST /v1/models (upload, users) and GET /v1/models/SHA (download, the agent holding a task).
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

#include "edgebench/model_file.h"
#include "handlers.h"
#include "http.h"

namespace edgebench::server {
namespace {

namespace fs = std::filesystem;

void UploadModel(ServerContext& context, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) {
    reader([](const char*, size_t) { return true; });  // drain, so the client reads the answer
    return SendError(res, who.error());
  }
  const int64_t max_bytes = context.options.max_model_bytes;
  std::string name = req.has_param("name") ? req.get_param_value("name") : req.get_header_value("X-Model-Name");
  name = fs::path(name).filename().string();
  if (name.empty()) name = "model";
  const std::string temporary = context.models->TemporaryPath(fs::path(name).extension().string());
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out) return SendError(res, {500, "cannot write to the model store"});
  int64_t size = 0;
  bool too_large = false;
  reader([&](const char* data, size_t length) {
    size += static_cast<int64_t>(length);
    if (size > max_bytes) too_large = true;
    if (!too_large) out.write(data, static_cast<std::streamsize>(length));
    return true;
  });
  out.flush();
  const bool written = static_cast<bool>(out);
  out.close();
  auto discard = [&] { std::error_code ignored; fs::remove(temporary, ignored); };
  if (too_large) {
    discard();
    return SendError(res, {413, "model of " + std::to_string(size) + " bytes exceeds the limit of " +
                                    std::to_string(max_bytes) + " bytes (--max-model-mb)"});
  }
  if (!written) {
    discard();
    return SendError(res, {500, "cannot write to the model store"});
  }
  if (size == 0) {
    discard();
    return SendError(res, {400, "empty model upload (send the model file as the request body)"});
  }
  auto inspected = InspectModelFile(temporary);
  if (!inspected.ok()) {
    discard();
    std::string message = inspected.error().message;
    const auto at = message.find(temporary);
    if (at != std::string::npos) message.replace(at, temporary.size(), name);
    return SendError(res, {400, message});
  }
  if (!context.models->MoveIn(temporary, inspected->sha256)) {
    return SendError(res, {500, "cannot move the upload into the model store"});
  }
  ModelRow row{inspected->sha256, inspected->size_bytes, std::string(ModelFormatName(inspected->format)), name, ""};
  context.store->AddModel(row);
  SendJson(res, 201, ModelJson(*context.store->FindModel(row.sha256)));
}

void DownloadModel(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
  auto agent = AuthenticateAgent(*context.store, req);
  if (!agent.ok()) return SendError(res, agent.error());
  const std::string sha = req.matches[1];
  auto model = context.store->FindModel(sha);
  if (!model) return SendError(res, {404, "model " + sha + " not found"});
  if (!context.store->AgentHoldsModel(agent->id, sha)) {
    return SendError(res, {403, "agent '" + agent->name + "' holds no task on model " + sha});
  }
  auto file = std::make_shared<std::ifstream>(context.models->PathOf(sha), std::ios::binary);
  if (!*file) return SendError(res, {500, "model " + sha + " is missing from the model store"});
  res.set_content_provider(
      static_cast<size_t>(model->size_bytes), "application/octet-stream",
      [file](size_t offset, size_t length, httplib::DataSink& sink) {
        std::array<char, 1 << 16> buffer;
        file->seekg(static_cast<std::streamoff>(offset));
        file->read(buffer.data(), static_cast<std::streamsize>(std::min(length, buffer.size())));
        if (file->gcount() <= 0) return false;
        sink.write(buffer.data(), static_cast<size_t>(file->gcount()));
        return true;
      });
}

}  // namespace

std::vector<Route> ModelRoutes() {
  return {{"POST", "/v1/models", nullptr, UploadModel}, {"GET", "/v1/models/{sha256}", DownloadModel}};
}

}  // namespace edgebench::server
