#include "task_runner.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "edgebench/text.h"

namespace edgebench::agent {

void Log(const std::string& line) {
  std::fprintf(stderr, "edgebench agent: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> TaskArguments(const TaskSpec& task, const std::vector<std::string>& models,
                                       const std::string& settings, const std::string& result) {
  if (task.compare.is_null()) {
    return {"bench", models.at(0), "--runtime", task.runtime, "--settings", settings, "--json", result, "-q"};
  }
  std::vector<std::string> args = {"compare"};
  args.insert(args.end(), models.begin(), models.end());
  args.insert(args.end(), {"--runtime", task.runtime, "--settings", settings, "--json", result, "-q", "--round-ms",
                           task.compare.at("round_ms").dump()});
  std::vector<std::string> threads;
  for (const auto& count : task.compare.at("threads")) threads.push_back(count.dump());
  if (!threads.empty()) args.insert(args.end(), {"--threads", Join(threads, ",")});
  return args;
}

}  // namespace edgebench::agent
