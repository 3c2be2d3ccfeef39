// Test certificates for the TLS unit tests: self-signed EC P-256 certificates made in memory with
// OpenSSL, as PEM text.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

namespace portico::net::tlstest {

struct Pem {
  std::string cert;
  std::string key;
};

/// The memory BIO's contents; frees the BIO.
inline std::string bioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

/// A self-signed certificate for `cn`. With `san` ("DNS:a,DNS:b") it also carries that
/// subjectAltName and is a CA (it can verify itself as a root); without, it has no extensions.
inline Pem makeCert(const char* cn, const char* san = nullptr) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (san) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, san},
                              {NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(x, key, EVP_sha256());
  BIO* c = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(c, x);
  BIO* k = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  Pem pem{bioText(c), bioText(k)};
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

}  // namespace portico::net::tlstest
