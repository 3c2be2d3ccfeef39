// Helpers for the decoder tests: YAML text → RawObject, and a VirtualService around routes.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/decode.h"

namespace portico::config::testing {

inline RawObject rawObject(const std::string& yaml) {
  auto docs = parseYaml(yaml, "test.yaml");
  EXPECT_TRUE(docs.ok()) << docs.error();
  if (!docs.ok() || docs->empty()) return {};
  auto obj = toRawObject(docs->front());
  EXPECT_TRUE(obj.ok()) << obj.error();
  return obj.ok() ? obj.value() : RawObject{};
}

/// A VirtualService (default.gloo-system) whose spec.virtualHost.routes is `routes` (YAML lines
/// indented by four spaces, starting with "    - ").
inline std::string vsWithRoutes(const std::string& routes) {
  return "apiVersion: gateway.solo.io/v1\n"
         "kind: VirtualService\n"
         "metadata: {name: default, namespace: gloo-system}\n"
         "spec:\n"
         "  virtualHost:\n"
         "    domains: ['*']\n"
         "    routes:\n" +
         routes;
}

/// One route: "    - routeAction: {single: {upstream: {name: a}}}" plus `extra` lines (each
/// starting with six spaces).
inline std::string vsWithRoute(const std::string& extra) {
  return vsWithRoutes("    - routeAction: {single: {upstream: {name: a}}}\n" + extra);
}

inline std::vector<std::string> vsErrors(const std::string& yaml) {
  Errors errors;
  decodeVirtualService(rawObject(yaml), errors);
  return errors.items();
}

inline VirtualService decodeVs(const std::string& yaml) {
  Errors errors;
  VirtualService vs = decodeVirtualService(rawObject(yaml), errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  return vs;
}

using Strings = std::vector<std::string>;

}  // namespace portico::config::testing
