#include <algorithm>

#include "edgebench/kernels.h"
#include "edgebench/text.h"

namespace edgebench {
namespace {

using nlohmann::json;

bool Is(const KernelConfig& config, std::initializer_list<const char*> types) {
  return std::any_of(types.begin(), types.end(), [&](const char* type) { return config.type == type; });
}

int64_t AtLeastOne(int64_t value) { return std::max<int64_t>(value, 1); }

// Channels of the kernel's output: cout where the type has it, otherwise cin.
int64_t OutputChannels(const KernelConfig& config) {
  return Is(config, {"conv", "dwconv", "fc"}) || (config.type == "unknown" && config.cout > 0) ? config.cout
                                                                                               : config.cin;
}

int64_t InputElements(const KernelConfig& config) {
  const int64_t spatial = config.cin * AtLeastOne(config.hin) * AtLeastOne(config.win);
  if (config.type == "add") return spatial * AtLeastOne(config.inputs);
  if (config.type == "mul") return spatial + config.cin;  // the [1, C, 1, 1] scale
  return spatial;
}

int64_t OutputElements(const KernelConfig& config) {
  return OutputChannels(config) * AtLeastOne(KernelOutputHeight(config)) * AtLeastOne(KernelOutputWidth(config));
}

// The integer fields in JSON order, with their names.
struct IntField {
  const char* name;
  int64_t KernelConfig::*member;
};
constexpr IntField kIntFields[] = {
    {"hin", &KernelConfig::hin},       {"win", &KernelConfig::win},
    {"cin", &KernelConfig::cin},       {"cout", &KernelConfig::cout},
    {"kernel_size", &KernelConfig::kernel_size}, {"stride", &KernelConfig::stride},
    {"groups", &KernelConfig::groups}, {"inputs", &KernelConfig::inputs},
};

// The fields each buildable type uses (positive); every other integer field must be 0.
struct TypeFields {
  const char* type;
  std::vector<std::string> fields;
  bool activation;  // whether an activation may be set (standalone "activation" requires one)
};
const std::vector<TypeFields>& FieldsByType() {
  static const std::vector<TypeFields> table = {
      {"conv", {"hin", "win", "cin", "cout", "kernel_size", "stride", "groups"}, true},
      {"dwconv", {"hin", "win", "cin", "cout", "kernel_size", "stride", "groups"}, true},
      {"fc", {"hin", "win", "cin", "cout"}, true},
      {"maxpool", {"hin", "win", "cin", "kernel_size", "stride"}, false},
      {"avgpool", {"hin", "win", "cin", "kernel_size", "stride"}, false},
      {"globalpool", {"hin", "win", "cin"}, false},
      {"add", {"hin", "win", "cin", "inputs"}, true},
      {"mul", {"hin", "win", "cin"}, true},
      {"concat", {"hin", "win", "cin", "inputs"}, false},
      {"channel_shuffle", {"hin", "win", "cin", "groups"}, false},
      {"activation", {"hin", "win", "cin"}, true},
      {"bn", {"hin", "win", "cin"}, true},
      {"resize", {"hin", "win", "cin", "stride"}, false},
      {"split", {"hin", "win", "cin", "inputs"}, false},
      {"softmax", {"hin", "win", "cin"}, false},
      {"reshape", {"hin", "win", "cin"}, false},
  };
  return table;
}

}  // namespace

Status CheckKernelConfig(const KernelConfig& config) {
  const std::string what = "kernel configuration " + ToJson(config).dump() + ": ";
  const auto& table = FieldsByType();
  const auto entry = std::find_if(table.begin(), table.end(), [&](const TypeFields& t) { return config.type == t.type; });
  if (entry == table.end()) return InvalidArgument(what + "type '" + config.type + "' has no kernel model");
  for (const IntField& field : kIntFields) {
    const bool used = std::find(entry->fields.begin(), entry->fields.end(), field.name) != entry->fields.end();
    const int64_t value = config.*field.member;
    if (used && value <= 0) return InvalidArgument(what + "'" + field.name + "' must be positive");
    if (!used && value != 0) return InvalidArgument(what + "'" + field.name + "' does not apply to " + config.type);
  }
  if (config.activation != "none" && !entry->activation) {
    return InvalidArgument(what + config.type + " takes no activation");
  }
  if (config.type == "activation" && config.activation == "none") return InvalidArgument(what + "no activation named");
  const auto fail = [&](const std::string& problem) -> Status { return InvalidArgument(what + problem); };
  if (config.type == "conv") {
    if (config.cin % config.groups != 0 || config.cout % config.groups != 0) {
      return fail("groups must divide cin and cout");
    }
    if (config.groups == config.cin && config.cin == config.cout) return fail("groups == cin == cout is a dwconv");
  }
  if (config.type == "dwconv" && !(config.groups == config.cin && config.cin == config.cout)) {
    return fail("a dwconv needs groups == cin == cout");
  }
  if (config.type == "fc" && (config.hin != 1 || config.win != 1)) return fail("fc needs hin = win = 1");
  if (Is(config, {"add", "concat", "split"}) && config.inputs < 2) return fail("'inputs' must be at least 2");
  if (Is(config, {"concat", "split"}) && config.cin % config.inputs != 0) return fail("inputs must divide cin");
  if (config.type == "channel_shuffle" && (config.groups < 2 || config.cin % config.groups != 0)) {
    return fail("groups must be at least 2 and divide cin");
  }
  if (config.type == "resize" && config.stride < 2) return fail("the scale factor (stride) must be at least 2");
  return OkStatus();
}

const std::vector<std::string>& KernelTypes() {
  static const std::vector<std::string> types = {
      "conv", "dwconv", "fc",     "maxpool",         "avgpool",    "globalpool", "add",
      "mul",  "concat", "channel_shuffle", "activation", "bn",      "resize",     "split",
      "softmax", "reshape"};
  return types;
}

const std::vector<std::string>& KernelActivations() {
  static const std::vector<std::string> activations = {"none", "relu", "relu6", "hswish", "hsigmoid", "sigmoid"};
  return activations;
}

bool operator==(const KernelConfig& a, const KernelConfig& b) {
  return a.type == b.type && a.activation == b.activation && a.hin == b.hin && a.win == b.win && a.cin == b.cin &&
         a.cout == b.cout && a.kernel_size == b.kernel_size && a.stride == b.stride && a.groups == b.groups &&
         a.inputs == b.inputs;
}

int64_t KernelOutputHeight(const KernelConfig& config) {
  if (Is(config, {"fc", "globalpool"})) return 1;
  if (config.type == "resize") return config.hin * AtLeastOne(config.stride);
  if (Is(config, {"conv", "dwconv", "maxpool", "avgpool"})) {
    const int64_t stride = AtLeastOne(config.stride);
    return (config.hin + stride - 1) / stride;
  }
  return config.hin;
}

int64_t KernelOutputWidth(const KernelConfig& config) {
  if (Is(config, {"fc", "globalpool"})) return 1;
  if (config.type == "resize") return config.win * AtLeastOne(config.stride);
  if (Is(config, {"conv", "dwconv", "maxpool", "avgpool"})) {
    const int64_t stride = AtLeastOne(config.stride);
    return (config.win + stride - 1) / stride;
  }
  return config.win;
}

int64_t KernelFlops(const KernelConfig& config) {
  const int64_t kernel_area = config.kernel_size * config.kernel_size;
  if (config.type == "conv") {
    return 2 * OutputElements(config) * (config.cin / AtLeastOne(config.groups)) * kernel_area;
  }
  if (config.type == "dwconv") return 2 * OutputElements(config) * kernel_area;
  if (config.type == "fc") return 2 * config.cin * config.cout;
  return OutputElements(config);
}

int64_t KernelParams(const KernelConfig& config) {
  const int64_t kernel_area = config.kernel_size * config.kernel_size;
  if (config.type == "conv") return config.cout * (config.cin / AtLeastOne(config.groups)) * kernel_area + config.cout;
  if (config.type == "dwconv") return config.cout * kernel_area + config.cout;
  if (config.type == "fc") return config.cin * config.cout + config.cout;
  if (config.type == "bn") return 2 * config.cin;  // folded to a scale and a shift per channel
  return 0;
}

namespace {

// The largest power of two dividing `channels`, up to 64; 0 for 0.
int64_t ChannelAlignment(int64_t channels) {
  if (channels <= 0) return 0;
  int64_t alignment = 1;
  while (alignment < 64 && channels % (alignment * 2) == 0) alignment *= 2;
  return alignment;
}

}  // namespace

const std::vector<std::string>& KernelFeatureNames() {
  static const std::vector<std::string> names = {
      "hin",    "win",        "cin",   "cout",   "kernel_size",    "stride",          "groups",    "inputs",
      "activation", "flops", "params", "input_elements", "output_elements", "cin_align", "cout_align"};
  return names;
}

std::vector<double> KernelFeatures(const KernelConfig& config) {
  const auto& activations = KernelActivations();
  const auto activation = std::find(activations.begin(), activations.end(), config.activation);
  return {static_cast<double>(config.hin),
          static_cast<double>(config.win),
          static_cast<double>(config.cin),
          static_cast<double>(config.cout),
          static_cast<double>(config.kernel_size),
          static_cast<double>(config.stride),
          static_cast<double>(config.groups),
          static_cast<double>(config.inputs),
          static_cast<double>(activation - activations.begin()),
          static_cast<double>(KernelFlops(config)),
          static_cast<double>(KernelParams(config)),
          static_cast<double>(InputElements(config)),
          static_cast<double>(OutputElements(config)),
          static_cast<double>(ChannelAlignment(config.cin)),
          static_cast<double>(ChannelAlignment(config.cout))};
}

json ToJson(const KernelConfig& config) {
  json out = {{"type", config.type}, {"activation", config.activation}};
  for (const IntField& field : kIntFields) {
    if (config.*field.member != 0) out[field.name] = config.*field.member;
  }
  return out;
}

Expected<KernelConfig> KernelConfigFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("kernel configuration: expected an object, got " + j.dump());
  KernelConfig config;
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return InvalidArgument("kernel configuration: 'type' must be a string");
  config.type = type->get<std::string>();
  const auto& types = KernelTypes();
  if (config.type != "unknown" && std::find(types.begin(), types.end(), config.type) == types.end()) {
    return InvalidArgument("kernel configuration: unknown type '" + config.type + "' (known: " + Join(types, ", ") +
                           ", unknown)");
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "type") continue;
    if (key == "activation") {
      const auto& activations = KernelActivations();
      if (!value.is_string() ||
          std::find(activations.begin(), activations.end(), value.get<std::string>()) == activations.end()) {
        return InvalidArgument("kernel configuration: 'activation' must be one of " + Join(activations, ", ") +
                               ", got " + value.dump());
      }
      config.activation = value.get<std::string>();
      continue;
    }
    const auto* field = std::find_if(std::begin(kIntFields), std::end(kIntFields),
                                     [&](const IntField& f) { return key == f.name; });
    if (field == std::end(kIntFields)) {
      return InvalidArgument("kernel configuration: unknown field '" + key + "'");
    }
    if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX) ||
        (!value.is_number_unsigned() && value.get<int64_t>() < 0)) {
      return InvalidArgument("kernel configuration: '" + key + "' must be a non-negative integer, got " + value.dump());
    }
    config.*field->member = value.get<int64_t>();
  }
  return config;
}

}  // namespace edgebench
