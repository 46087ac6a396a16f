// Small string helpers shared by formatting, flags and the registry.
#pragma once

#include <string>
#include <vector>

namespace edgebench {

// The items with `separator` between each two.
std::string Join(const std::vector<std::string>& items, const std::string& separator);

// The pieces of `text` between the occurrences of `separator`, empty ones included ("a,,b" ->
// "a", "", "b"; "" -> one empty piece).
std::vector<std::string> Split(const std::string& text, char separator);

}  // namespace edgebench
