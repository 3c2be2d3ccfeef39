// SigV4Signer: AWS Signature Version 4 for HTTP requests (Authorization header form), written
// from AWS's published specification: canonical request, string to sign, signing key.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::filters {

/// Static AWS credentials (a Secret of kind aws). Never logged.
struct AwsCredentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken;  ///< empty: long-term keys
};

/// Lowercase hex SHA-256 of `data` (the payload hash SigV4 signs).
std::string sha256Hex(std::string_view data);
/// Raw HMAC-SHA256 of `data` under `key`.
std::string hmacSha256(std::string_view key, std::string_view data);
/// SigV4's URI encoding, appended to `out`: every byte but A-Z a-z 0-9 - _ . ~ as %XX.
void awsUriEncode(std::string_view in, std::string& out);
/// %XX escapes decoded (invalid ones kept as they are); `plusIsSpace`: '+' too (forms).
std::string percentDecode(std::string_view in, bool plusIsSpace = false);
/// "20150830T123600Z": the x-amz-date form of `t` (UTC).
std::string amzDate(std::chrono::system_clock::time_point t);

class SigV4Signer {
public:
  /// `service` as in the credential scope ("lambda"), `region` ("us-east-1").
  SigV4Signer(std::string service, std::string region)
      : service_(std::move(service)), region_(std::move(region)) {}

  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// The canonical request: method, canonical URI (path normalised, each segment URI-encoded
  /// as given: a path already percent-encoded on the wire is encoded again, the rule for every
  /// service but S3), canonical query (decoded, re-encoded, sorted by name then value), the
  /// `headers` (any case; values trimmed, inner runs of spaces collapsed, folded lines and
  /// repeats joined by ','), the signed header list and the payload hash. Every header given
  /// is signed. `target` is the request target: path plus optional "?query".
  static std::string canonicalRequest(std::string_view method, std::string_view target,
                                      const Headers& headers, std::string_view payloadHash);
  /// "host;x-amz-date": the lowercase, sorted, distinct names of `headers`.
  static std::string signedHeaders(const Headers& headers);

  /// The string to sign for a canonical request signed at `date` (x-amz-date form).
  std::string stringToSign(std::string_view date, std::string_view canonicalRequest) const;
  /// The signing key: HMAC chain over the date (YYYYMMDD), region, service, "aws4_request".
  std::string signingKey(std::string_view secretAccessKey, std::string_view day) const;

  /// The Authorization header value for a request whose signed headers are `headers` (they
  /// must include host and x-amz-date = `date`, plus x-amz-security-token when the
  /// credentials have one).
  std::string authorization(const AwsCredentials& credentials, std::string_view date,
                            std::string_view method, std::string_view target,
                            const Headers& headers, std::string_view payloadHash) const;

private:
  std::string service_;
  std::string region_;
};

}  // namespace portico::filters
