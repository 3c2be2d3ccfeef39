"""A stand-in for the AWS Lambda Invoke API, for tests: real AWS cannot be reached from the test
machine, and nothing in Debian serves this API. An HTTPS server that checks each call the way
Lambda does — SigV4 signature (computed here with Python's own hmac/hashlib from the AWS
specification, independently of Portico's signer), path, qualifier, invocation type — and
answers like Lambda: 200 with the function's JSON, X-Amz-Function-Error for a failing function,
202 for an Event invocation, 403/404 with Lambda's error shapes.

Functions (by name): "echo" returns what it was called with; "fail" fails (Unhandled);
"apigw" answers an API Gateway proxy response (base64 body, headers, multiValueHeaders).
"""

import base64
import datetime
import hashlib
import hmac
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INVOKE_PREFIX = "/2015-03-31/functions/"
UNRESERVED = "-_.~"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def canonical_uri(raw_path):
    # Every service but S3: each segment of the path as sent (already percent-encoded) is
    # encoded once more.
    return "/".join(urllib.parse.quote(seg, safe=UNRESERVED) for seg in raw_path.split("/")) or "/"


def canonical_query(raw_query):
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        name, _, value = item.partition("=")
        pairs.append((urllib.parse.quote(urllib.parse.unquote(name), safe=UNRESERVED),
                      urllib.parse.quote(urllib.parse.unquote(value), safe=UNRESERVED)))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def expected_signature(secret, method, raw_target, headers, signed, body, date, region, service):
    path, _, query = raw_target.partition("?")
    lines = [method, canonical_uri(path), canonical_query(query)]
    for name in signed:
        values = [" ".join(v.split()) for v in headers.get_all(name) or []]
        lines.append(f"{name}:{','.join(values)}")
    creq = "\n".join(lines) + "\n\n" + ";".join(signed) + "\n" + _sha256(body)
    scope = f"{date[:8]}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{date}\n{scope}\n{_sha256(creq.encode())}"
    key = _hmac(("AWS4" + secret).encode(), date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class LambdaMock:
    """Serves on (host, port) over TLS with `cert`; `keys` maps access key → (secret, token)."""

    def __init__(self, host, port, cert, key, region, keys):
        self.region = region
        self.keys = keys
        self.calls = []  # one dict per call that reached a function
        self.rejections = []  # why calls were refused
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                mock._handle(self)

            def do_GET(self):
                mock._handle(self)

        self.server = ThreadingHTTPServer((host, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # ---- one call ----------------------------------------------------------------------------

    def _reply(self, h, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("x-amzn-requestid", "mock-request")
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _refuse(self, h, status, kind, message):
        self.rejections.append(f"{kind}: {message}")
        self._reply(h, status, {"message": message}, [("x-amzn-errortype", kind)])

    def _check_signature(self, h, body):
        auth = h.headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "missing SigV4 Authorization"
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        akid, day, region, service, term = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        date = h.headers.get("x-amz-date", "")
        if akid not in self.keys:
            return f"unknown access key {akid}"
        if (region, service, term) != (self.region, "lambda", "aws4_request") or day != date[:8]:
            return f"bad credential scope {fields['Credential']}"
        for required in ("host", "x-amz-date"):
            if required not in signed:
                return f"{required} is not signed"
        secret, token = self.keys[akid]
        if token and (h.headers.get("x-amz-security-token") != token or
                      "x-amz-security-token" not in signed):
            return "missing or unsigned x-amz-security-token"
        when = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300:
            return f"x-amz-date {date} is more than 5 minutes off"
        want = expected_signature(secret, h.command, h.path, h.headers, signed, body, date,
                                  self.region, "lambda")
        if not hmac.compare_digest(want, fields["Signature"]):
            return "The request signature we calculated does not match the signature you provided"
        return None

    def _handle(self, h):
        body = h.rfile.read(int(h.headers.get("content-length", "0") or 0))
        problem = self._check_signature(h, body)
        if problem:
            return self._refuse(h, 403, "InvalidSignatureException", problem)
        path, _, query = h.path.partition("?")
        if h.command != "POST" or not (path.startswith(INVOKE_PREFIX) and path.endswith("/invocations")):
            return self._refuse(h, 404, "UnknownOperationException", f"{h.command} {h.path}")
        name = urllib.parse.unquote(path[len(INVOKE_PREFIX):-len("/invocations")])
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        if set(params) - {"Qualifier"}:
            return self._refuse(h, 400, "InvalidParameterValueException", f"query {query}")
        qualifier = params.get("Qualifier", ["$LATEST"])[0]
        invocation = h.headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation not in ("RequestResponse", "Event"):
            return self._refuse(h, 400, "InvalidParameterValueException", f"invocation type {invocation}")
        if name not in ("echo", "fail", "apigw") and not name.endswith(":function:echo"):
            return self._refuse(h, 404, "ResourceNotFoundException", f"Function not found: {name}")
        call = {"function": name, "qualifier": qualifier, "invocation": invocation,
                "body": body.decode("utf-8", "replace"), "host": h.headers.get("host"),
                "headers": {k.lower(): v for k, v in h.headers.items()}}
        self.calls.append(call)
        if invocation == "Event":
            return self._reply(h, 202, b"")
        if name == "fail":
            return self._reply(h, 200, {"errorMessage": "boom", "errorType": "Error"},
                               [("x-amz-function-error", "Unhandled")])
        if name == "apigw":
            event = json.loads(body or b"null")
            return self._reply(h, 200, {
                "statusCode": 201,
                "headers": {"content-type": "text/plain", "x-path": (event or {}).get("path", "")},
                "multiValueHeaders": {"x-multi": ["a", "b"]},
                "body": base64.b64encode(b"hello from lambda").decode(),
                "isBase64Encoded": True})
        try:
            event = json.loads(body) if body else None
        except ValueError:
            event = body.decode("utf-8", "replace")
        return self._reply(h, 200, {"event": event, "qualifier": qualifier, "function": name,
                                    "body": "<p>echo</p>"})
