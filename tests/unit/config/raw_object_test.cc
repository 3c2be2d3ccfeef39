// toRawObject, isKnownKind, ObjectKey::display, toString(State), the MapReader helpers.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "config/field_reader.h"
#include "config/object_status.h"

namespace portico::config {
namespace {

Result<RawObject> raw(const std::string& yaml) {
  auto docs = parseYaml(yaml, "obj.yaml");
  if (!docs.ok()) return docs.status();
  EXPECT_EQ(docs->size(), 1u);
  return toRawObject(docs->front());
}

TEST(ToRawObjectTest, ReadsIdentity) {
  auto r =
      raw("apiVersion: gloo.solo.io/v1\n"
          "kind: Upstream\n"
          "metadata:\n"
          "  name: postman-echo\n"
          "  namespace: team-a\n"
          "  labels: {app: echo, tier: \"1\"}\n"
          "  resourceVersion: \"42\"\n"
          "  annotations: {kubectl.kubernetes.io/last-applied-configuration: x}\n"
          "  uid: 0b1c\n"
          "  generation: 3\n"
          "  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
          "  ownerReferences: []\n"
          "  managedFields: []\n"
          "  finalizers: [x]\n"
          "spec: {static: {hosts: [{addr: postman-echo.com, port: 80}]}}\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->apiVersion, "gloo.solo.io/v1");
  EXPECT_EQ(r->kind, "Upstream");
  EXPECT_EQ(r->meta.name, "postman-echo");
  EXPECT_EQ(r->meta.ns, "team-a");
  ASSERT_EQ(r->meta.labels.size(), 2u);
  EXPECT_EQ(r->meta.labels[0], (std::pair<std::string, std::string>{"app", "echo"}));
  EXPECT_EQ(r->meta.labels[1], (std::pair<std::string, std::string>{"tier", "1"}));
  EXPECT_EQ(r->meta.resourceVersion, "42");
  EXPECT_EQ(r->source, "obj.yaml:1");
  EXPECT_TRUE(r->doc.find("spec"));
  EXPECT_EQ(r->key(), (ObjectKey{"Upstream", "team-a", "postman-echo"}));
}

TEST(ToRawObjectTest, NamespaceDefaultsToGlooSystem) {
  auto r = raw("apiVersion: v1\nkind: Thing\nmetadata: {name: a.b-c}\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->meta.ns, "gloo-system");
  EXPECT_EQ(std::string(kDefaultNamespace), "gloo-system");
}

TEST(ToRawObjectTest, Errors) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"kind: Upstream\nmetadata: {name: a}\n", "apiVersion: required"},
      {"apiVersion: gloo.solo.io/v1\nmetadata: {name: a}\n", "kind: required"},
      {"apiVersion: gloo.solo.io/v1\nkind: 5\nmetadata: {name: a}\n",
       "kind: expected a string, got number"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\n", "metadata: required"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: [a]\n",
       "metadata: expected a map, got list"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {namespace: x}\n",
       "metadata.name: required"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: ''}\n",
       "metadata.name: required"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: Foo_Bar}\n",
       "metadata.name: invalid name \"Foo_Bar\": use lowercase letters, digits, '-' and '.', "
       "starting and ending with a letter or digit, at most 253 characters"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: a, namespace: ../etc}\n",
       "metadata.namespace: invalid namespace \"../etc\": use lowercase letters, digits and '-', "
       "starting and ending with a letter or digit, at most 63 characters"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: a, labels: {v: 1}}\n",
       "metadata.labels.v: expected a string, got number"},
      {"apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: a, labelz: {}}\n",
       "metadata.labelz: field not supported by Portico yet"},
      {"- a\n- b\n", "expected a map with apiVersion, kind and metadata, got list"},
  };
  for (const Case& c : cases) {
    auto r = raw(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.error(), c.error) << c.yaml;
  }
}

TEST(ObjectNameTest, Rfc1123) {
  for (const char* ok : {"a", "default", "petstore-8080", "a.b.c", "x1", "1x"})
    EXPECT_TRUE(isValidObjectName(ok)) << ok;
  for (const char* bad : {"", "A", "a_b", "-a", "a-", "a..b", ".a", "a.", "a/b", "a b"})
    EXPECT_FALSE(isValidObjectName(bad)) << bad;
  EXPECT_TRUE(isValidObjectName(std::string(253, 'a')));
  EXPECT_FALSE(isValidObjectName(std::string(254, 'a')));
  EXPECT_TRUE(isValidNamespace("gloo-system"));
  EXPECT_FALSE(isValidNamespace("a.b"));
  EXPECT_FALSE(isValidNamespace(std::string(64, 'a')));
}

TEST(KnownKindTest, Table) {
  EXPECT_TRUE(isKnownKind("gloo.solo.io/v1", "Upstream"));
  EXPECT_TRUE(isKnownKind("gateway.solo.io/v1", "VirtualService"));
  EXPECT_TRUE(isKnownKind("gateway.solo.io/v1", "Gateway"));
  EXPECT_FALSE(isKnownKind("gateway.solo.io/v1", "Upstream"));
  EXPECT_FALSE(isKnownKind("gloo.solo.io/v1", "VirtualService"));
  EXPECT_TRUE(isKnownKind("gateway.solo.io/v1", "RouteTable"));
  EXPECT_TRUE(isKnownKind("gloo.solo.io/v1", "UpstreamGroup"));
  EXPECT_FALSE(isKnownKind("gateway.solo.io/v2", "Gateway"));
}

TEST(ObjectKeyTest, Display) {
  EXPECT_EQ((ObjectKey{"VirtualService", "gloo-system", "default"}).display(),
            "virtualservice default.gloo-system");
  EXPECT_EQ((ObjectKey{"Upstream", "ns", "x"}).display(), "upstream x.ns");
}

TEST(ObjectStatusTest, StateNames) {
  EXPECT_STREQ(toString(ObjectStatus::State::Pending), "Pending");
  EXPECT_STREQ(toString(ObjectStatus::State::Accepted), "Accepted");
  EXPECT_STREQ(toString(ObjectStatus::State::Rejected), "Rejected");
  EXPECT_STREQ(toString(ObjectStatus::State::Warning), "Warning");
}

TEST(FieldReaderTest, PathsAndUnconsumedKeys) {
  EXPECT_EQ(joinPath("", "spec"), "spec");
  EXPECT_EQ(joinPath("spec", "virtualHost"), "spec.virtualHost");
  EXPECT_EQ(joinPath("metadata.labels", "app.io/name"), "metadata.labels[\"app.io/name\"]");
  EXPECT_EQ(indexPath("routes", 2), "routes[2]");

  auto docs = parseYaml("a: x\nb: 1\nc: true\nd: ~\ne: [x, y]\nf: {k: v}\ng: 2s\nh: extra\n", "t");
  ASSERT_TRUE(docs.ok());
  Errors errors;
  {
    MapReader r(docs->front().root, "spec", errors);
    std::string s;
    bool b = false;
    int64_t n = 0, ms = 0;
    std::vector<std::string> list;
    std::vector<std::pair<std::string, std::string>> map;
    EXPECT_TRUE(r.readString("a", s));
    EXPECT_EQ(s, "x");
    EXPECT_TRUE(r.readInt("b", 0, 10, n));
    EXPECT_EQ(n, 1);
    EXPECT_TRUE(r.readBool("c", b));
    EXPECT_TRUE(b);
    EXPECT_FALSE(r.has("d"));  // null = unset
    EXPECT_TRUE(r.readStringList("e", list));
    EXPECT_EQ(list, (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(r.readStringMap("f", map));
    EXPECT_TRUE(r.readDurationMs("g", ms));
    EXPECT_EQ(ms, 2000);
    EXPECT_FALSE(r.readString("missing", s));
    EXPECT_EQ(r.presentCount(), 7u);
  }
  EXPECT_EQ(errors.toString(), "spec.h: field not supported by Portico yet");
}

TEST(FieldReaderTest, TypeMismatches) {
  auto docs = parseYaml("a: 1\nb: x\nc: 1.5\nd: 99\ne: [1]\nf: x\ng: 5\nh: \"1\"\n", "t");
  ASSERT_TRUE(docs.ok());
  Errors errors;
  {
    MapReader r(docs->front().root, "spec", errors);
    std::string s;
    bool b;
    int64_t n;
    std::vector<std::string> list;
    r.readString("a", s);
    r.readInt("b", 0, 10, n);
    r.readInt("c", 0, 10, n);
    r.readInt("d", 0, 10, n);
    r.readStringList("e", list);
    r.readBool("f", b);
    r.readDurationMs("g", n);
    r.readInt("h", 0, 10, n);
  }
  std::vector<std::string> want = {
      "spec.a: expected a string, got number",
      "spec.b: expected a number, got string",
      "spec.c: expected an integer, got 1.5",
      "spec.d: must be between 0 and 10, got 99",
      "spec.e[0]: expected a string, got number",
      "spec.f: expected a boolean, got string",
      "spec.g: expected a duration string such as \"15s\", got number",
      "spec.h: expected a number, got string",
  };
  EXPECT_EQ(errors.items(), want);
}

TEST(FieldReaderTest, NonMapValue) {
  Errors errors;
  Value list = Value::makeList();
  {
    MapReader r(list, "spec.x", errors);
    EXPECT_EQ(r.take("a"), nullptr);
  }
  EXPECT_EQ(errors.toString(), "spec.x: expected a map, got list");
}

}  // namespace
}  // namespace portico::config
