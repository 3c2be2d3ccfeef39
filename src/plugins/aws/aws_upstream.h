// The aws upstream type (spec.aws): AWS Lambda functions of one region, called through the
// Lambda Invoke API at lambda.<region>.amazonaws.com:443 over TLS.
#pragma once

#include "config/errors.h"
#include "config/model.h"

namespace portico {

/// Decodes and validates upstream.typeSpec (spec.aws). Every Gloo field works or is reported
/// by name: roleArn and disableRoleChaining need STS credentials, destinationOverrides is not
/// supported yet. Errors carry paths from the document root ("spec.aws.region").
config::AwsUpstream decodeAwsUpstream(const config::Upstream& upstream, config::Errors& errors);

}  // namespace portico
