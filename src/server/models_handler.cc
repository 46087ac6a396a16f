// POST /v1/models (upload, users) and GET /v1/models/SHA (download, the agent holding a task).
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <optional>

#include "edgebench/model_file.h"
#include "handlers.h"
#include "http.h"
#include "validation.h"

namespace edgebench::server {
namespace {

namespace fs = std::filesystem;

// Reads and drops the body, so that the client reads the answer.
void Drain(const httplib::Request& req, const httplib::ContentReader& reader) {
  auto drop = [](const char*, size_t) { return true; };
  if (req.is_multipart_form_data()) {
    reader([](const httplib::MultipartFormData&) { return true; }, drop);
  } else {
    reader(drop);
  }
}

// A model name as given (?name=, X-Model-Name or the multipart file name): its file name part,
// "model" when empty; 400 unless UTF-8 without control characters, at most 255 bytes, since
// names go into JSON answers (a lease's) and logs.
ApiResult<std::string> ModelName(const std::string& given) {
  std::string name = fs::path(given).filename().string();
  if (name.empty()) name = "model";
  if (name.size() > 255 || !ValidUtf8(name) ||
      std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return ApiError{400, "the model name must be UTF-8 without control characters, at most 255 bytes (?name=)"};
  }
  return name;
}

// The model file is the raw request body, or the one file part of a multipart/form-data body
// (curl -F model=@FILE). It is written to a temporary file that is moved into the store or
// removed, whatever happens.
void UploadModel(ServerContext& context, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  auto who = Authenticate(*context.store, req, {TokenKind::kAdmin, TokenKind::kUser});
  if (!who.ok()) {
    Drain(req, reader);
    return SendError(res, who.error());
  }
  const int64_t max_bytes = context.options.max_model_bytes;
  std::string given = req.has_param("name") ? req.get_param_value("name") : req.get_header_value("X-Model-Name");
  std::string temporary;
  std::ofstream out;
  struct Remove {
    const std::string& path;
    ~Remove() {
      std::error_code ignored;
      if (!path.empty()) fs::remove(path, ignored);  // a no-op once moved into the store
    }
  } remove{temporary};
  int64_t size = 0;
  int parts = 0;
  std::optional<ApiError> refused;
  auto receive = [&](const char* data, size_t length) {
    if (refused || parts > 1) return true;  // read on, so that the client reads the answer
    if (temporary.empty()) {
      auto name = ModelName(given);
      if (!name.ok()) {
        refused = name.error();
        return true;
      }
      given = *name;
      temporary = context.models->TemporaryPath(fs::path(given).extension().string());
      out.open(temporary, std::ios::binary | std::ios::trunc);
    }
    size += static_cast<int64_t>(length);
    if (size > max_bytes) {
      refused = ApiError{413, "model of more than " + std::to_string(max_bytes) + " bytes exceeds the limit (--max-model-mb)"};
    } else {
      out.write(data, static_cast<std::streamsize>(length));
    }
    return true;
  };
  if (req.is_multipart_form_data()) {
    reader(
        [&](const httplib::MultipartFormData& part) {
          if (++parts == 1 && given.empty()) given = part.filename;
          return true;
        },
        receive);
    if (parts != 1 && !refused) {
      refused = ApiError{400, "a multipart model upload holds exactly one part, the model file (curl -F model=@FILE); "
                              "this one has " + std::to_string(parts)};
    }
  } else {
    reader(receive);
  }
  if (refused) return SendError(res, *refused);
  if (temporary.empty()) {
    auto name = ModelName(given);
    return SendError(res, name.ok() ? ApiError{400, "empty model upload (send the model file as the request body)"}
                                    : name.error());
  }
  out.close();
  if (!out) return SendError(res, {500, "cannot write to the model store"});
  auto inspected = InspectModelFile(temporary);
  if (!inspected.ok()) {
    std::string message = inspected.error().message;
    const auto at = message.find(temporary);
    if (at != std::string::npos) message.replace(at, temporary.size(), given);
    return SendError(res, {400, message});
  }
  if (!context.models->MoveIn(temporary, inspected->sha256)) {
    return SendError(res, {500, "cannot move the upload into the model store"});
  }
  ModelRow row{inspected->sha256, inspected->size_bytes, std::string(ModelFormatName(inspected->format)), given, ""};
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

void AddModelRoutes(httplib::Server& http, ServerContext& context) {
  using R = const httplib::Request&;
  using W = httplib::Response&;
  http.Post("/v1/models", [&context](R req, W res, const httplib::ContentReader& reader) {
    UploadModel(context, req, res, reader);
  });
  http.Get(R"(/v1/models/([0-9a-f]{64}))", [&context](R req, W res) { DownloadModel(context, req, res); });
}

}  // namespace edgebench::server
