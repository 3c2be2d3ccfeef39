"""The 2018 Gloo 0.x objects (gloo-api.md §1) load unchanged, route like their modern
equivalents and get statuses the same way; `portico convert` prints the modern form."""

import os
import subprocess
import tempfile
import unittest

from harness import LOCALHOST, PORTICO_BIN, Backend, Portico, http_request, write_yaml

OLD_CONFIG = """\
name: petstore
type: static
spec: {{hosts: [{{addr: {addr}, port: {port}}}]}}
service_info: {{type: REST}}
functions:
- {{name: findPetById, spec: {{body: "", headers: {{":method": GET}}, path: '/echo/api/pets/{{{{ default(id, "") }}}}'}}}}
- {{name: addPet, spec: {{headers: {{":method": POST}}, path: /echo/api/pets, body: '{{"id": {{{{ id }}}}, "name": "{{{{ name }}}}"}}'}}}}
---
name: default
domains: ['*']
routes:
- request_matcher: {{path_exact: /petstore/list, verbs: [GET]}}
  single_destination: {{upstream: {{name: petstore}}}}
  prefix_rewrite: /echo/pets
- request_matcher: {{path_prefix: /hdr, headers: {{x-env: "", x-ver: "v.*"}}}}
  single_destination: {{upstream: {{name: petstore}}}}
  prefix_rewrite: /echo
- request_matcher: {{path_prefix: /petstore/findPet/}}
  single_destination: {{function: {{upstream_name: petstore, function_name: findPetById}}}}
  extensions: {{parameters: {{path: '/petstore/findPet/{{id}}'}}}}
- request_matcher: {{path_exact: /petstore/add}}
  single_destination: {{function: {{upstream_name: petstore, function_name: addPet}}}}
  extensions: {{parameters: {{headers: {{x-pet-id: '{{id}}', x-pet-name: '{{name}}'}}}}}}
- event_matcher: {{event_type: order.created}}
  single_destination: {{upstream: {{name: petstore}}}}
  prefix_rewrite: /echo/event
"""

# A region Gloo 0.x did not know (its aws plugin had a fixed list).
UNSUPPORTED = """\
name: lambda
type: aws
spec: {region: eu-north-1, secret_ref: my-aws-secrets}
functions:
- {name: func1, spec: {function_name: func1}}
"""


class Gloo0x(unittest.TestCase):
    def test_old_objects_route_and_report_statuses(self):
        with Backend("pets") as be, tempfile.TemporaryDirectory(prefix="portico-0x-") as cfg:
            write_yaml(cfg, "old.yaml", OLD_CONFIG.format(addr=LOCALHOST, port=be.port))
            write_yaml(cfg, "lambda.yaml", UNSUPPORTED)
            with Portico(cfg) as gw:
                gw.wait_status("VirtualService", "default", "Accepted")
                gw.wait_status("Upstream", "petstore", "Accepted")
                rejected = gw.wait_status("Upstream", "lambda", "Rejected")
                self.assertIn('spec.region: unknown region "eu-north-1"', rejected["reason"])

                status, _, body = http_request(gw.port, "GET", "/petstore/list")
                self.assertEqual(status, 200)
                self.assertIn(b'"path":"/echo/pets"', body)
                self.assertEqual(http_request(gw.port, "POST", "/petstore/list", body=b"x")[0], 404)

                self.assertEqual(http_request(gw.port, "GET", "/hdr", headers={"X-Env": "prod", "X-Ver": "v2"})[0], 200)
                self.assertEqual(http_request(gw.port, "GET", "/hdr", headers={"X-Ver": "v2"})[0], 404)

                # REST functions of the 0.x shapes (docs/getting_started, request_transformation)
                status, _, body = http_request(gw.port, "GET", "/petstore/findPet/5")
                self.assertEqual(status, 200, body)
                self.assertIn(b'"path":"/echo/api/pets/5"', body)
                self.assertIn(b'"body":""', body)
                status, _, body = http_request(gw.port, "GET", "/petstore/add",
                                               headers={"x-pet-id": "8", "x-pet-name": "rex"})
                self.assertEqual(status, 200, body)
                self.assertIn(b'"method":"POST"', body)
                self.assertIn(b'{\\"id\\": 8, \\"name\\": \\"rex\\"}', body)

                status, _, body = http_request(gw.port, "POST", "/events", body=b"{}",
                                               headers={"X-Event-Type": "order.created"})
                self.assertEqual(status, 200)
                self.assertIn(b'"path":"/echo/event"', body)

    def test_convert_prints_modern_yaml_that_validates(self):
        with tempfile.TemporaryDirectory(prefix="portico-convert-") as d:
            old = os.path.join(d, "old.yaml")
            with open(old, "w") as f:
                f.write(OLD_CONFIG.format(addr=LOCALHOST, port=9000))
            out = subprocess.run([str(PORTICO_BIN), "convert", old], capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("apiVersion: gateway.solo.io/v1", out.stdout)
            self.assertIn("kind: VirtualService", out.stdout)
            self.assertIn("exact: /events", out.stdout)
            modern = os.path.join(d, "modern")
            os.mkdir(modern)
            with open(os.path.join(modern, "all.yaml"), "w") as f:
                f.write(out.stdout)
            check = subprocess.run([str(PORTICO_BIN), "validate", modern], capture_output=True, text=True, timeout=30)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn("2 objects, 0 rejected", check.stdout)

    def test_convert_reports_what_cannot_be_converted(self):
        with tempfile.TemporaryDirectory(prefix="portico-convert-") as d:
            path = os.path.join(d, "lambda.yaml")
            with open(path, "w") as f:
                f.write(UNSUPPORTED)
            out = subprocess.run([str(PORTICO_BIN), "convert", path], capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 1)
            self.assertIn('spec.region: unknown region "eu-north-1"', out.stderr)
            usage = subprocess.run([str(PORTICO_BIN), "convert"], capture_output=True, text=True, timeout=30)
            self.assertEqual(usage.returncode, 2)
            self.assertIn("convert", usage.stderr)


if __name__ == "__main__":
    unittest.main()
