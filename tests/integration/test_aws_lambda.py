"""AWS Lambda destinations: the aws upstream (spec.aws) and destinationSpec.aws, end to end.

Real AWS cannot be reached from the test machine, so Lambda is a MOCK (lambda_mock.py): an
HTTPS server that verifies each call's SigV4 signature with its own Python code and answers like
the Invoke API. The gateway reaches it with no test-only code path: the upstream's host
lambda.us-east-1.amazonaws.com:443 resolves through c-ares, which reads /etc/hosts first; the
gateway runs in its own mount namespace (unshare -m) where a hosts file naming the mock is
bind-mounted over /etc/hosts (c-ares 1.18's getaddrinfo ignores CARES_HOSTS; --dns-servers,
tested in test_dns.py, would do too). The mock's certificate is checked against the upstream's
sslConfig.sslFiles.rootCa, with SNI lambda.us-east-1.amazonaws.com. Upstreams without rootCa
(the Gloo 0.x ones) are checked against the system store, which SSL_CERT_FILE (OpenSSL's
override of its default paths) points at the mock's CA for this gateway.
"""

import json
import random
import socket
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import NAMESPACE, PORTICO_BIN, Portico, http_request, to_yaml, wait_until, write_yaml
from lambda_mock import LambdaMock
from test_tls import make_cert

HOST = "lambda.us-east-1.amazonaws.com"
AKID, SECRET, TOKEN = "AKIDPORTICOTEST", "c2VjcmV0L2tleStmb3IvdGVzdHM=", "session/token+="
OLD_AKID, OLD_SECRET = "AKIDGLOO0X", "b2xkL3NlY3JldA=="  # Gloo 0.x secrets had no session token

# Gloo 0.x (gloo-api.md §1.7's aws upstream, a route to one of its functions), loaded through
# `portico convert`: one document at a time the route's function kind is unknown.
GLOO0X_FILE = """\
name: my-lambda-upstream
type: aws
spec: {region: us-east-1, secret_ref: my-aws-secrets}
functions:
- {name: func1, spec: {function_name: echo}}
- {name: func2, spec: {function_name: echo, qualifier: v2}}
---
name: legacy
domains: [legacy.test]
routes:
- request_matcher: {path_prefix: /one}
  single_destination: {function: {upstream_name: my-lambda-upstream, function_name: func2}}
"""
# The same kind of upstream loaded as it is, routed to by a modern virtual service.
GLOO0X_UPSTREAM = """\
name: raw-0x
type: aws
spec: {region: us-east-1, secret_ref: my-aws-secrets}
functions: [{name: hello, spec: {function_name: echo}}]
"""
# 0.x files loaded as they are, one object per file as 0.x's file storage kept them
# (upstreams/<name>.yml, virtualservices/<name>.yml): the route's function is a Lambda because
# its upstream is an aws one, without `portico convert`.
GLOO0X_DIRECT_UPSTREAM = """\
name: direct-lambda
type: aws
spec: {region: us-east-1, secret_ref: my-aws-secrets}
functions: [{name: func2, spec: {function_name: echo, qualifier: v2}}]
"""
GLOO0X_DIRECT_VS = """\
name: legacy-direct
domains: [direct.test]
routes:
- request_matcher: {path_prefix: /one}
  single_destination: {function: {upstream_name: direct-lambda, function_name: func2}}
- request_matcher: {path_prefix: /typo}
  single_destination: {function: {upstream_name: direct-lambda, function_name: func3}}
"""


def ref(name):
    return {"name": name, "namespace": NAMESPACE}


def aws_route(prefix, logical, upstream="aws-upstream", **flags):
    return {"matchers": [{"prefix": prefix}],
            "routeAction": {"single": {"upstream": ref(upstream),
                                       "destinationSpec": {"aws": dict(logicalName=logical, **flags)}}}}


def upstream(name, spec, ssl):
    return to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"aws": spec, "sslConfig": ssl}})


class PorticoWithHosts(Portico):
    """The gateway with `hosts` as its /etc/hosts (a private mount namespace; needs root)."""

    def __init__(self, config_dir, hosts, **kw):
        super().__init__(config_dir, **kw)
        self.hosts = hosts

    def command(self):
        return ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                str(self.hosts), *super().command()]


def free_loopback_443():
    """A 127.x.y.z address whose port 443 is free (the Lambda endpoint's port is fixed)."""
    for _ in range(50):
        ip = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        s = socket.socket()
        try:
            s.bind((ip, 443))
            return ip
        except OSError:
            continue
        finally:
            s.close()
    raise unittest.SkipTest("no loopback address with a free port 443 (needs root)")


class AwsLambdaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-aws-")
        d = Path(cls.tmp.name)
        certs = d / "certs"
        certs.mkdir()
        cls.ca = make_cert(certs, "ca", "/CN=Lambda Mock CA", "DNS:ca.test")
        server = make_cert(certs, "lambda", f"/CN={HOST}", f"DNS:{HOST}", cls.ca)
        ip = free_loopback_443()
        cls.mock = LambdaMock(ip, 443, str(server[0]), str(server[1]), "us-east-1",
                              {AKID: (SECRET, TOKEN), OLD_AKID: (OLD_SECRET, None)}).__enter__()
        hosts = d / "hosts"
        hosts.write_text(f"{ip} {HOST}\n127.0.0.1 localhost\n")

        cfg = cls.cfg = d / "config"
        ssl = {"sslFiles": {"rootCa": str(cls.ca[0])}}
        functions = [{"logicalName": "echo", "lambdaFunctionName": "echo"},
                     {"lambdaFunctionName": "echo", "qualifier": "v2"},
                     {"logicalName": "fail", "lambdaFunctionName": "fail"},
                     {"logicalName": "apigw", "lambdaFunctionName": "apigw"},
                     {"logicalName": "gone", "lambdaFunctionName": "gone"}]
        docs = [
            # gloo-api.md §2.5's upstream, with its functions and the mock's CA
            upstream("aws-upstream", {"region": "us-east-1", "secretRef": ref("aws-creds"),
                                      "lambdaFunctions": functions}, ssl),
            upstream("by-account", {"region": "us-east-1", "secretRef": ref("aws-creds"),
                                    "awsAccountId": "123456789012",
                                    "lambdaFunctions": [{"logicalName": "e", "lambdaFunctionName": "echo"}]}, ssl),
            upstream("role", {"region": "us-east-1", "secretRef": ref("aws-creds"),
                              "roleArn": "arn:aws:iam::123456789012:role/r"}, ssl),
            upstream("no-secret", {"region": "us-east-1", "secretRef": ref("missing"),
                                   "lambdaFunctions": functions}, ssl),
            # no rootCa: verified against the system store, for the name it is reached by
            upstream("wrong-sni", {"region": "us-east-1", "secretRef": ref("aws-creds"),
                                   "lambdaFunctions": functions}, {"sni": "lambda.example"}),
            to_yaml({"apiVersion": "gloo.solo.io/v1", "kind": "Secret",
                     "metadata": {"name": "aws-creds", "namespace": NAMESPACE},
                     "spec": {"aws": {"accessKey": AKID, "secretKey": SECRET, "sessionToken": TOKEN}}}),
        ]
        write_yaml(cfg, "aws.yaml", "---\n".join(docs))
        old = d / "gloo0x.yml"
        old.write_text(GLOO0X_FILE)
        converted = subprocess.run([str(PORTICO_BIN), "convert", str(old)], capture_output=True,
                                   text=True, timeout=30)
        assert converted.returncode == 0, converted.stderr
        write_yaml(cfg, "gloo0x.yaml", converted.stdout)
        write_yaml(cfg, "gloo0x-raw.yaml", GLOO0X_UPSTREAM)
        write_yaml(cfg, "gloo0x-direct-upstream.yaml", GLOO0X_DIRECT_UPSTREAM)
        write_yaml(cfg, "gloo0x-direct-vs.yaml", GLOO0X_DIRECT_VS)
        # A Kubernetes Secret with Gloo 0.x's key names (its aws plugin read these two).
        write_yaml(cfg, "gloo0x-secret.yaml", to_yaml({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "my-aws-secrets", "namespace": NAMESPACE},
            "stringData": {"access_key": OLD_AKID, "secret_key": OLD_SECRET}}))
        routes = [
            aws_route("/docs", "echo", requestTransformation=True),  # gloo-api.md §2.5's route
            aws_route("/plain", "echo"),
            aws_route("/v2", "echo:v2"),
            aws_route("/async", "echo", invocationStyle="ASYNC"),
            aws_route("/fail", "fail"),
            aws_route("/apigw", "apigw", wrapAsApiGateway=True, unwrapAsApiGateway=True),
            aws_route("/html", "echo", responseTransformation=True),
            aws_route("/gone", "gone"),
            aws_route("/account", "e", upstream="by-account"),
            aws_route("/raw0x", "hello", upstream="raw-0x"),
            aws_route("/wrong-sni", "echo", upstream="wrong-sni"),
        ]
        write_yaml(cfg, "vs.yaml", to_yaml({
            "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {"virtualHost": {"domains": ["*"], "routes": routes}}}))
        bad = {"unknown-fn": [aws_route("/x", "nope")], "no-secret": [aws_route("/y", "echo", "no-secret")],
               "no-spec": [{"matchers": [{"prefix": "/z"}],
                            "routeAction": {"single": {"upstream": ref("aws-upstream")}}}]}
        for name, rs in bad.items():
            write_yaml(cfg, f"{name}.yaml", to_yaml({
                "apiVersion": "gateway.solo.io/v1", "kind": "VirtualService",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {"virtualHost": {"domains": [f"{name}.test"], "routes": rs}}}))
        cls.gw = PorticoWithHosts(cfg, hosts, env={"SSL_CERT_FILE": str(cls.ca[0])}).start()
        cls.gw.wait_status("VirtualService", "default", "Accepted", timeout=10)
        # The endpoint's name resolves asynchronously: the cluster has its host once c-ares answered.
        wait_until(lambda: http_request(cls.gw.port, "POST", "/plain", body=b"{}")[0] == 200,
                   timeout=10, message="the Lambda endpoint to resolve")
        cls.mock.calls.clear()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.__exit__(None, None, None)
        cls.tmp.cleanup()

    def call(self, path, body=b"", method="POST", headers=None):
        status, hdrs, data = http_request(self.gw.port, method, path, headers=headers, body=body)
        self.assertEqual(self.mock.rejections, [], "the mock refused a call")
        return status, hdrs, data

    def test_gloo_docs_route_with_request_transformation(self):
        status, hdrs, data = self.call("/docs/items?color=red", b'{"n": 1}',
                                       headers={"content-type": "application/json"})
        self.assertEqual(status, 200, data)
        answer = json.loads(data)
        event = answer["event"]  # Gloo's requestTransformation shape
        self.assertEqual(event["body"], '{"n": 1}')
        self.assertEqual(event["path"], "/docs/items")
        self.assertEqual(event["queryString"], "color=red")
        self.assertEqual(event["httpMethod"], "POST")
        self.assertEqual(event["headers"]["content-type"], "application/json")
        call = self.mock.calls[-1]
        self.assertEqual((call["function"], call["qualifier"], call["invocation"]),
                         ("echo", "$LATEST", "RequestResponse"))
        self.assertEqual(call["host"], HOST)
        self.assertEqual(call["headers"]["x-amz-security-token"], TOKEN)

    def test_plain_invoke_and_client_credentials_dropped(self):
        status, _, data = self.call("/plain", b'{"k": "v"}', headers={"authorization": "Bearer mine"})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["event"], {"k": "v"})
        self.assertTrue(self.mock.calls[-1]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 "))
        # a GET without a body is still a signed POST with an empty payload
        status, _, data = self.call("/plain", method="GET")
        self.assertEqual(status, 200, data)
        self.assertIsNone(json.loads(data)["event"])

    def test_qualifier_async_and_account(self):
        status, _, data = self.call("/v2", b"{}")
        self.assertEqual(status, 200, data)
        self.assertEqual(self.mock.calls[-1]["qualifier"], "v2")
        status, _, data = self.call("/async", b'{"later": true}')
        self.assertEqual(status, 202, data)
        self.assertEqual(self.mock.calls[-1]["invocation"], "Event")
        status, _, data = self.call("/account", b"{}")
        self.assertEqual(status, 200, data)
        self.assertEqual(self.mock.calls[-1]["function"], "arn:aws:lambda:us-east-1:123456789012:function:echo")

    def test_gloo0x_upstream_route_and_secret(self):
        self.gw.wait_status("VirtualService", "legacy", "Accepted")
        status, _, data = self.call("/one", b'{"old": true}', headers={"host": "legacy.test"})
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["event"], {"old": True})
        call = self.mock.calls[-1]
        self.assertEqual((call["function"], call["qualifier"]), ("echo", "v2"))
        self.assertIn(f"Credential={OLD_AKID}/", call["headers"]["authorization"])
        self.assertNotIn("x-amz-security-token", call["headers"])
        status, _, data = self.call("/raw0x", b"{}")
        self.assertEqual(status, 200, data)
        self.assertEqual((self.mock.calls[-1]["function"], self.mock.calls[-1]["qualifier"]),
                         ("echo", "$LATEST"))

    def test_gloo0x_files_loaded_directly(self):
        # the typo is rejected by name; fixed, the route calls the Lambda function
        s = self.gw.wait_status("VirtualService", "legacy-direct", "Rejected")
        self.assertIn('destinationSpec.rest.functionName: function "func3" not found on upstream '
                      '"direct-lambda" (it has: func2)', s["reason"])
        write_yaml(self.cfg, "gloo0x-direct-vs.yaml", GLOO0X_DIRECT_VS.replace("func3", "func2"))
        self.gw.wait_status("VirtualService", "legacy-direct", "Accepted", timeout=10)
        for path in ("/one", "/typo"):
            status, _, data = self.call(path, b'{"direct": true}', headers={"host": "direct.test"})
            self.assertEqual(status, 200, data)
            self.assertEqual(json.loads(data)["event"], {"direct": True})
            call = self.mock.calls[-1]
            self.assertEqual((call["function"], call["qualifier"]), ("echo", "v2"))
            self.assertIn(f"Credential={OLD_AKID}/", call["headers"]["authorization"])

    def test_lambda_without_root_ca_is_still_verified(self):
        calls = len(self.mock.calls)
        status, _, data = http_request(self.gw.port, "POST", "/wrong-sni", body=b"{}")
        self.assertEqual((status, data.strip()), (502, b"upstream connect error"))
        self.assertEqual(len(self.mock.calls), calls)

    def test_function_error_is_504(self):
        status, _, data = self.call("/fail", b"{}")
        self.assertEqual(status, 504)
        self.assertEqual(json.loads(data)["errorMessage"], "boom")

    def test_api_gateway_wrap_and_unwrap(self):
        status, hdrs, data = self.call("/apigw/a?b=1", b"payload")
        self.assertEqual(status, 201, data)
        self.assertEqual(data, b"hello from lambda")
        self.assertEqual(hdrs["content-type"], "text/plain")
        self.assertEqual(hdrs["x-path"], "/apigw/a")
        event = json.loads(self.mock.calls[-1]["body"])
        self.assertEqual((event["httpMethod"], event["body"], event["queryStringParameters"]),
                         ("POST", "payload", {"b": "1"}))

    def test_response_transformation(self):
        status, hdrs, data = self.call("/html", b"{}")
        self.assertEqual(status, 200, data)
        self.assertEqual(data, b"<p>echo</p>")
        self.assertEqual(hdrs["content-type"], "text/html")

    def test_lambda_errors_pass_through(self):
        status, hdrs, data = http_request(self.gw.port, "POST", "/gone", body=b"{}")
        self.assertEqual(status, 404, data)
        self.assertEqual(hdrs.get("x-amzn-errortype"), "ResourceNotFoundException")
        self.mock.rejections.clear()

    def test_rejections_name_the_field(self):
        role = self.gw.wait_status("Upstream", "role", "Rejected")
        self.assertIn("spec.aws.roleArn", role["reason"])
        unknown = self.gw.wait_status("VirtualService", "unknown-fn", "Rejected")
        self.assertIn("destinationSpec.aws.logicalName", unknown["reason"])
        self.assertIn('function "nope" not found', unknown["reason"])
        secret = self.gw.wait_status("VirtualService", "no-secret", "Rejected")
        self.assertIn("spec.aws.secretRef", secret["reason"])
        self.assertIn('"missing" not found', secret["reason"])
        nospec = self.gw.wait_status("VirtualService", "no-spec", "Rejected")
        self.assertIn("needs destinationSpec.aws", nospec["reason"])


if __name__ == "__main__":
    unittest.main()
