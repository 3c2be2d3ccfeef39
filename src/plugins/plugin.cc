#include "plugins/plugin.h"

namespace portico {

void PluginRegistry::addUpstreamPlugin(std::unique_ptr<UpstreamPlugin> plugin) {
  upstreamPlugins_.push_back(std::move(plugin));
}

const UpstreamPlugin* PluginRegistry::upstreamPlugin(std::string_view type) const {
  for (const auto& p : upstreamPlugins_)
    if (p->type() == type) return p.get();
  return nullptr;
}

std::vector<std::string> PluginRegistry::upstreamTypes() const {
  std::vector<std::string> out;
  for (const auto& p : upstreamPlugins_) out.emplace_back(p->type());
  return out;
}

}  // namespace portico
