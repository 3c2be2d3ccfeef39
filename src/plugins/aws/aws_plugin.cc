// The aws upstream plugin: spec.aws → a cluster of the region's Lambda endpoint (TLS, SNI).
#include "config/field_reader.h"
#include "plugins/aws/aws_upstream.h"
#include "plugins/plugin.h"

namespace portico {

namespace {

bool validRegion(const std::string& r) {
  if (r.empty() || r.size() > 32 || r.front() == '-' || r.back() == '-') return false;
  for (char c : r)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

/// Lambda function names, ARNs' pieces and qualifiers: letters, digits and "-_:.$".
bool validName(const std::string& s) {
  if (s.empty() || s.size() > 170) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == ':' || c == '.' || c == '$'))
      return false;
  return true;
}

void decodeFunction(const config::Value& v, const std::string& path, config::AwsUpstream& out,
                    config::Errors& errors) {
  config::MapReader f(v, path, errors);
  config::LambdaFunction fn;
  bool ok = f.requireString("lambdaFunctionName", fn.functionName);
  if (ok && !validName(fn.functionName)) {
    errors.add(f.pathOf("lambdaFunctionName"), "invalid Lambda function name");
    ok = false;
  }
  if (f.readString("qualifier", fn.qualifier) && !fn.qualifier.empty() && !validName(fn.qualifier)) {
    errors.add(f.pathOf("qualifier"), "invalid qualifier (a version number, alias or $LATEST)");
    ok = false;
  }
  f.readString("logicalName", fn.logicalName);
  // Gloo's default, and the form its function discovery writes: name, or name:qualifier.
  if (fn.logicalName.empty())
    fn.logicalName = fn.qualifier.empty() ? fn.functionName : fn.functionName + ":" + fn.qualifier;
  for (const config::LambdaFunction& other : out.functions) {
    if (other.logicalName == fn.logicalName) {
      errors.add(f.pathOf("logicalName"), "duplicate logical name \"" + fn.logicalName + "\"");
      ok = false;
    }
  }
  f.finish();
  if (ok) out.functions.push_back(std::move(fn));
}

class AwsPlugin final : public UpstreamPlugin {
public:
  std::string_view type() const override { return "aws"; }

  void translate(const config::Upstream& upstream, const PluginContext& context,
                 upstream::Cluster& cluster, config::Errors& errors) const override {
    config::AwsUpstream aws = decodeAwsUpstream(upstream, errors);
    if (!errors.empty()) return;
    cluster.aws = std::make_shared<const config::AwsUpstream>(aws);
    // One host: the regional endpoint, on 443 with its name as SNI; its certificate is always
    // verified (sslConfig's root CA, else the system store: TlsContexts::systemCaFor).
    cluster.wantsTls = true;
    auto addresses = context.resolver.resolve(aws.host, 443);
    if (!addresses.ok()) {
      cluster.unresolved.push_back(aws.host + ": " + addresses.error());
      return;
    }
    for (const net::Address& a : *addresses) {
      upstream::Host h;
      h.address = a;
      h.key = a.toString();
      h.hostname = aws.host;
      h.sni = aws.host;
      cluster.hosts.push_back(std::move(h));
    }
  }
};

}  // namespace

config::AwsUpstream decodeAwsUpstream(const config::Upstream& upstream, config::Errors& errors) {
  config::AwsUpstream out;
  config::MapReader spec(upstream.typeSpec, "spec.aws", errors);
  if (spec.requireString("region", out.region) && !validRegion(out.region))
    errors.add(spec.pathOf("region"), "invalid region \"" + out.region + "\": expected e.g. us-east-1");
  // China regions live under amazonaws.com.cn.
  out.host = "lambda." + out.region + (out.region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com");
  if (const config::Value* ref = spec.take("secretRef")) {
    config::MapReader r(*ref, spec.pathOf("secretRef"), errors);
    r.requireString("name", out.secretRef.name);
    out.secretRef.ns = upstream.meta.ns;
    r.readString("namespace", out.secretRef.ns);
    if (out.secretRef.ns.empty()) out.secretRef.ns = upstream.meta.ns;
  } else {
    errors.add(spec.pathOf("secretRef"),
               "required: Portico signs Lambda calls with the keys of a Secret of kind aws "
               "(STS and instance credentials are not supported)");
  }
  std::string roleArn;
  if (spec.readString("roleArn", roleArn) && !roleArn.empty())
    errors.add(spec.pathOf("roleArn"), "not supported: assuming a role needs STS, which Portico does not call");
  bool noChaining = false;
  if (spec.readBool("disableRoleChaining", noChaining) && noChaining)
    errors.add(spec.pathOf("disableRoleChaining"), "not supported: role chaining needs STS");
  if (spec.readString("awsAccountId", out.awsAccountId) &&
      (out.awsAccountId.size() != 12 ||
       out.awsAccountId.find_first_not_of("0123456789") != std::string::npos))
    errors.add(spec.pathOf("awsAccountId"), "expected a 12-digit AWS account ID");
  if (spec.take("destinationOverrides"))
    errors.add(spec.pathOf("destinationOverrides"), "field not supported by Portico yet");
  if (const config::Value* fns = spec.take("lambdaFunctions")) {
    std::string path = spec.pathOf("lambdaFunctions");
    if (!fns->isList()) errors.add(path, "expected a list of {logicalName, lambdaFunctionName, qualifier}");
    else
      for (size_t i = 0; i < fns->list.size(); ++i)
        decodeFunction(fns->list[i], config::indexPath(path, i), out, errors);
  }
  spec.finish();
  return out;
}

void registerAwsPlugin(PluginRegistry& registry) {
  registry.addUpstreamPlugin(std::make_unique<AwsPlugin>());
}

}  // namespace portico
