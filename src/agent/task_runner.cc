#include "task_runner.h"

#include <cstdio>
#include <fstream>
#include <sstream>

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

std::vector<std::string> BenchArguments(const std::string& runtime, const std::string& model,
                                        const std::string& settings, const std::string& result) {
  return {"bench", model, "--runtime", runtime, "--settings", settings, "--json", result, "-q"};
}

}  // namespace edgebench::agent
