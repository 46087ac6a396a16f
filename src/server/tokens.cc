#include "tokens.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace edgebench::server {
namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

// Writes `content` to `path` with mode 0600.
Status WriteSecretFile(const std::string& path, const std::string& content) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return RuntimeError(path + ": cannot write");
  const bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  close(fd);
  return ok ? OkStatus() : Status(RuntimeError(path + ": write failed"));
}

}  // namespace

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return Hex(digest, length);
}

std::string NewSecret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) throw std::runtime_error("RAND_bytes failed");
  return Hex(bytes.data(), bytes.size());
}

Status InitializeTokens(Store& store, const std::string& data_dir) {
  if (!store.HasToken(TokenKind::kAdmin)) {
    const std::string secret = NewSecret();
    EB_RETURN_IF_ERROR(WriteSecretFile(data_dir + "/admin.token", secret + "\n"));
    store.AddToken(Sha256Hex(secret), TokenKind::kAdmin, "admin");
  }
  if (!store.HasToken(TokenKind::kRegistration)) {
    const std::string secret = NewSecret();
    EB_RETURN_IF_ERROR(WriteSecretFile(data_dir + "/agent.token", secret + "\n"));
    store.AddToken(Sha256Hex(secret), TokenKind::kRegistration, "registration");
  }
  return OkStatus();
}

}  // namespace edgebench::server
