// Secrets of the service: tokens are random hex strings, stored as their SHA-256.
#pragma once

#include <string>

#include "edgebench/status.h"
#include "store.h"

namespace edgebench::server {

std::string Sha256Hex(const std::string& text);  // lowercase hex
std::string NewSecret();                          // 64 hex digits from the system's CSPRNG

// On first start writes DATA_DIR/admin.token (the admin's token) and DATA_DIR/agent.token (the
// agents' registration token), mode 0600, and stores their hashes; later starts keep them.
Status InitializeTokens(Store& store, const std::string& data_dir);

}  // namespace edgebench::server
