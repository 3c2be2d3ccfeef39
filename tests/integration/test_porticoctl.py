"""porticoctl against a real `portico run`: objects created from the CLI serve traffic, `get`
tables match golden files, a rejected `apply` leaves the running config untouched, `check` fails
on an upstream whose health check points at a closed port, the README's "first five minutes"
walkthrough runs line by line, and the admin API's token rules hold.

Golden files: tests/integration/golden/porticoctl_*.txt (the gateway's port is written as PPPPP);
regenerate them with
PORTICO_UPDATE_GOLDEN=1 after an intended change of the table format."""

import contextlib
import json
import os
import re
import shlex
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import (LOCALHOST, NAMESPACE, PORTICO_BIN, REPO_ROOT, Backend, Portico, closed_port,
                     http_request, route, upstream_yaml, virtual_service_yaml, wait_until,
                     write_yaml)

PORTICOCTL = Path(os.environ.get("PORTICOCTL_BIN", Path(PORTICO_BIN).parent / "porticoctl"))
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("PORTICO_UPDATE_GOLDEN") == "1"


def ctl(gw, *args, stdin=None, env=None, check=None, timeout=30):
    """Runs porticoctl against gw's admin API; returns the CompletedProcess (text)."""
    full_env = dict(os.environ, PORTICO_ADMIN=f"{LOCALHOST}:{gw.admin_port}")
    full_env.pop("PORTICO_ADMIN_TOKEN", None)
    if env:
        full_env.update(env)
    proc = subprocess.run([str(PORTICOCTL), *map(str, args)], capture_output=True, text=True,
                          input=stdin, env=full_env, timeout=timeout)
    if check is not None and proc.returncode != check:
        raise AssertionError(f"porticoctl {' '.join(map(str, args))} exited {proc.returncode}, "
                             f"expected {check}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def tree(directory):
    """{relative path: text} of every file under directory (to prove nothing was written)."""
    out = {}
    for p in sorted(Path(directory).rglob("*")):
        if p.is_file():
            out[str(p.relative_to(directory))] = p.read_text()
    return out


class PorticoctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not PORTICOCTL.exists():
            raise unittest.SkipTest(f"{PORTICOCTL} not built")
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        cls.backend = stack.enter_context(Backend("demo"))

    def setUp(self):
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        self.cfg = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="portico-ctl-")))
        self.gw = stack.enter_context(Portico(self.cfg))

    def tearDown(self):
        self.assertTrue(self.gw.running(), f"gateway died:\n{self.gw.logs()}")

    def ctl(self, *args, **kw):
        return ctl(self.gw, *args, **kw)

    def backend_host(self):
        return f"{LOCALHOST}:{self.backend.port}"

    # -- create from the CLI, then traffic --

    def test_create_upstream_vs_route_and_curl_through(self):
        out = self.ctl("create", "upstream", "static", "pets", "--static-hosts", self.backend_host(), check=0)
        self.assertIn("upstream pets.gloo-system created (Accepted)", out.stdout)
        self.ctl("create", "vs", "shop", "--domains", "shop.test,www.shop.test", check=0)
        self.ctl("add", "route", "--name", "shop", "--path-prefix", "/pets", "--dest-name", "pets",
                 "--prefix-rewrite", "/echo", "-m", "GET,post", "--header", "x-team=blue",
                 "-q", "debug", check=0)
        # Served at once: the admin API rebuilds before it answers.
        status, _, body = http_request(self.gw.port, "GET", "/pets/1?debug=1", host="shop.test",
                                       headers={"x-team": "blue"})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["path"], "/echo/1?debug=1")
        curl = subprocess.run(["curl", "-sS", "-H", "Host: www.shop.test", "-H", "x-team: blue",
                               self.ctl("proxy", "url", check=0).stdout.strip() + "/pets/2?debug"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(json.loads(curl.stdout)["path"], "/echo/2?debug")
        for headers, query in (({}, "?debug"), ({"x-team": "blue"}, "")):
            status, _, _ = http_request(self.gw.port, "GET", "/pets/1" + query, host="shop.test", headers=headers)
            self.assertEqual(status, 404, (headers, query))
        # Persisted by the file store as YAML, in the shape the gateway reads.
        text = (self.cfg / NAMESPACE / "virtualservice-shop.yaml").read_text()
        self.assertIn("prefixRewrite: /echo", text)
        self.assertIn("methods:\n", text)
        self.assertIn("- POST", text)
        self.assertTrue((self.cfg / NAMESPACE / "upstream-pets.yaml").exists())
        # create is not apply
        again = self.ctl("create", "upstream", "static", "pets", "--static-hosts", "10.0.0.1:80", check=1)
        self.assertIn("already exists", again.stderr)

    def test_route_index_remove_sort_and_dry_run(self):
        self.ctl("create", "upstream", "static", "up", "--static-hosts", self.backend_host(), check=0)
        self.ctl("add", "route", "--name", "default", "-p", "/", "-u", "up", check=0)  # creates VS
        self.ctl("add", "route", "--name", "default", "-p", "/api", "-u", "up", "-x", "1", check=0)
        self.ctl("add", "route", "--name", "default", "-e", "/api/exact", "-u", "up", "-x", "2", check=0)
        self.ctl("add", "route", "--name", "default", "-r", "/r/[0-9]+", "-u", "up", "--index", "3", check=0)

        def order():
            vs = json.loads(self.ctl("get", "vs", "default", "-o", "json", check=0).stdout)
            return [list(r["matchers"][0].items())[0] for r in vs["spec"]["virtualHost"]["routes"]]
        self.assertEqual(order(), [("prefix", "/"), ("prefix", "/api"), ("exact", "/api/exact"),
                                   ("regex", "/r/[0-9]+")])
        before = tree(self.cfg)
        dry = self.ctl("route", "sort", "--name", "default", "--dry-run", check=0)
        self.assertRegex(dry.stdout, r"(?s)exact: /api/exact.*regex:.*prefix: /api\n.*prefix: /\n")
        self.assertEqual(tree(self.cfg), before, "--dry-run wrote something")
        self.ctl("route", "sort", "--name", "default", check=0)
        self.assertEqual(order(), [("exact", "/api/exact"), ("regex", "/r/[0-9]+"), ("prefix", "/api"),
                                   ("prefix", "/")])
        self.ctl("remove", "route", "--name", "default", "--index", "0", check=0)
        self.assertEqual(order()[0], ("regex", "/r/[0-9]+"))
        bad = self.ctl("remove", "route", "--name", "default", "-x", "9", check=2)
        self.assertIn("--index", bad.stderr)
        past = self.ctl("add", "route", "-p", "/z", "-u", "up", "-x", "99", check=2)
        self.assertIn("--index", past.stderr)

    def test_rest_function_fields_written_and_rejection_explained(self):
        self.ctl("create", "upstream", "static", "users", "--static-hosts", self.backend_host(), check=0)
        args = ["add", "route", "--name", "api", "-e", "/users/1", "-u", "users",
                "--rest-function-name", "getUser", "--rest-parameters", ":path=/users/{id}"]
        dry = self.ctl(*args, "--dry-run", "-o", "json", check=0)
        spec = json.loads(dry.stdout)["spec"]["virtualHost"]["routes"][0]["routeAction"]["single"]
        self.assertEqual(spec["destinationSpec"]["rest"],
                         {"functionName": "getUser", "parameters": {"headers": {":path": "/users/{id}"}}})
        real = self.ctl(*args)
        if real.returncode == 1:  # REST functions not implemented yet: refused, naming the field
            self.assertIn("destinationSpec", real.stderr)
            self.assertFalse((self.cfg / NAMESPACE / "virtualservice-api.yaml").exists())
        else:
            self.assertEqual(real.returncode, 0, real.stderr)

    # -- get: golden tables --

    def golden(self, name, text):
        port = str(self.gw.port)
        text = text.replace(port, "P" * len(port))  # same width: the columns stay aligned
        path = GOLDEN / f"porticoctl_{name}.txt"
        if UPDATE_GOLDEN:
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(text)
        self.assertEqual(text, path.read_text(), f"differs from {path} (PORTICO_UPDATE_GOLDEN=1 rewrites it)")

    def test_get_tables_match_golden_files(self):
        write_yaml(self.cfg, "objects.yaml", "\n---\n".join([
            upstream_yaml("alpha", [("10.0.0.1", 8080), ("10.0.0.2", 8080)]),
            upstream_yaml("beta", [("10.0.0.3", 80)]),
            virtual_service_yaml("shop", [route("alpha", exact="/cart"), route("beta", prefix="/")],
                                 domains=["shop.test"]),
            virtual_service_yaml("broken", [route("missing", prefix="/")], domains=["broken.test"]),
            "apiVersion: gateway.solo.io/v1\nkind: RouteTable\nmetadata: {name: pets, namespace: gloo-system}\n"
            "spec:\n  weight: 5\n  routes:\n  - matchers: [{prefix: /pets}]\n"
            "    routeAction: {single: {upstream: {name: alpha}}}\n",
        ]))
        self.gw.wait_status("VirtualService", "broken", "Rejected")
        self.gw.wait_status("RouteTable", "pets", "Accepted")
        for name, args in (("upstreams", ["get", "upstream"]), ("virtualservices", ["get", "vs"]),
                           ("virtualservices_wide", ["get", "virtualservices", "-o", "wide"]),
                           ("routetables", ["get", "rt"]), ("gateways", ["get", "gateway"]),
                           ("upstream_alpha", ["get", "upstream", "alpha"])):
            with self.subTest(name):
                self.golden(name, self.ctl(*args, check=0).stdout)
        # yaml and json carry the same object with its status
        y = self.ctl("get", "vs", "broken", "-o", "yaml", check=0).stdout
        self.assertIn("state: Rejected", y)
        j = json.loads(self.ctl("get", "vs", "broken", "-o", "json", check=0).stdout)
        self.assertIn('upstream "missing" not found', j["status"]["reason"])
        wide = self.ctl("get", "us", "-o", "wide", check=0).stdout
        self.assertRegex(wide, r"alpha\s+gloo-system\s+static\s+Accepted\s+10.0.0.1:8080,10.0.0.2:8080\s+2/2 healthy")
        missing = self.ctl("get", "upstream", "nope", check=1)
        self.assertIn("upstream nope.gloo-system not found", missing.stderr)
        empty = self.ctl("get", "upstreams", "-n", "elsewhere", check=0)
        self.assertIn("No upstreams found in namespace elsewhere", empty.stderr)

    def test_secrets_never_show_key_material(self):
        write_yaml(self.cfg, "secret.yaml",
                   "apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: tls-cert, namespace: gloo-system}\n"
                   "tls:\n  certChain: CERTMATERIAL\n  privateKey: KEYMATERIAL-do-not-print\n")
        wait_until(lambda: "tls-cert" in self.ctl("get", "secret").stdout, 5, message="secret listed")
        table = self.ctl("get", "secret", check=0).stdout
        self.assertRegex(table, r"tls-cert\s+tls\s+")
        for fmt in ("table", "wide", "yaml", "json"):
            out = self.ctl("get", "secret", "tls-cert", "-o", fmt, check=0).stdout
            self.assertNotIn("KEYMATERIAL", out, fmt)
            self.assertNotIn("CERTMATERIAL", out, fmt)
        _, _, body = http_request(self.gw.admin_port, "GET", "/api/objects?kind=secret", host=LOCALHOST)
        self.assertNotIn(b"KEYMATERIAL", body)
        self.assertIn(b"<redacted>", body)
        self.assertIn("never shown", self.ctl("edit", "secret", "tls-cert", check=2).stderr)

    # -- apply --

    def test_apply_is_idempotent_and_a_rejected_apply_changes_nothing(self):
        good = self.cfg.parent / f"{self.cfg.name}-good.yaml"
        self.addCleanup(lambda: good.unlink(missing_ok=True))
        good.write_text(upstream_yaml("web", [(LOCALHOST, self.backend.port)]) + "---\n" +
                        virtual_service_yaml("web", [route("web", prefix="/echo")], domains=["web.test"]))
        first = self.ctl("apply", "-f", good, check=0)
        self.assertIn("upstream web.gloo-system created (Accepted)", first.stdout)
        self.assertIn("virtualservice web.gloo-system created (Accepted)", first.stdout)
        self.assertEqual(http_request(self.gw.port, "GET", "/echo", host="web.test")[0], 200)
        files = tree(self.cfg)
        second = self.ctl("apply", "-f", good, check=0)
        self.assertEqual(second.stdout.count("unchanged"), 2, second.stdout)
        self.assertEqual(tree(self.cfg), files)

        # A batch with one bad object: nothing is written, the running config keeps serving.
        dump_before = self.gw.config_dump()
        bad = (upstream_yaml("web", [(LOCALHOST, closed_port())]) + "---\n" +
               virtual_service_yaml("web", [route("nowhere", prefix="/echo")], domains=["web.test"]))
        out = self.ctl("apply", "-f", "-", stdin=bad, check=1)
        self.assertIn("422", out.stderr)
        self.assertIn('upstream "nowhere" not found', out.stderr)
        self.assertEqual(tree(self.cfg), files)
        self.assertEqual(self.gw.config_dump(), dump_before)
        self.assertEqual(http_request(self.gw.port, "GET", "/echo", host="web.test")[0], 200)
        self.assertEqual(self.gw.status_of("VirtualService", "web")["state"], "Accepted")
        # --dry-run validates on the server and writes nothing
        dry = self.ctl("apply", "--dry-run", "-f", "-", stdin=upstream_yaml("extra", [("10.0.0.9", 80)]), check=0)
        self.assertIn("upstream extra.gloo-system created (dry run)", dry.stdout)
        self.assertEqual(tree(self.cfg), files)
        # a directory, with a JSON file in it
        d = Path(tempfile.mkdtemp(prefix="portico-ctl-apply-"))
        self.addCleanup(lambda: [p.unlink() for p in d.iterdir()] and d.rmdir())
        (d / "a.json").write_text(json.dumps({"apiVersion": "gloo.solo.io/v1", "kind": "Upstream",
                                              "metadata": {"name": "fromjson"},
                                              "spec": {"static": {"hosts": [{"addr": "10.1.1.1", "port": 80}]}}}))
        (d / "b.yaml").write_text(upstream_yaml("fromyaml", [("10.1.1.2", 80)]))
        out = self.ctl("apply", "-f", d, check=0).stdout
        self.assertIn("upstream fromjson.gloo-system created", out)
        self.assertIn("upstream fromyaml.gloo-system created", out)
        syntax = self.ctl("apply", "-f", "-", stdin="kind: [unclosed\n", check=1)
        self.assertIn("400", syntax.stderr)

    def test_delete_refused_while_referenced(self):
        self.ctl("create", "upstream", "static", "used", "--static-hosts", self.backend_host(), check=0)
        self.ctl("add", "route", "--name", "uses", "-p", "/", "-u", "used", check=0)
        refused = self.ctl("delete", "upstream", "used", check=1)
        self.assertIn("virtualservice uses.gloo-system", refused.stderr)
        self.ctl("delete", "vs", "uses", check=0)
        self.ctl("delete", "upstream", "used", check=0)
        self.assertIn("not found", self.ctl("delete", "upstream", "used", check=1).stderr)
        self.assertFalse((self.cfg / NAMESPACE / "upstream-used.yaml").exists())

    # -- edit --

    def test_edit_validates_before_saving(self):
        self.ctl("create", "upstream", "static", "ed", "--static-hosts", self.backend_host(), check=0)
        self.ctl("create", "vs", "ed", "--domains", "ed.test", check=0)
        editor = self.cfg.parent / f"{self.cfg.name}-editor.sh"
        self.addCleanup(lambda: editor.unlink(missing_ok=True))
        editor.write_text("#!/bin/sh\nsed -i \"$SED_EXPR\" \"$1\"\n")
        editor.chmod(0o755)
        ok = self.ctl("edit", "vs", "ed", env={"EDITOR": str(editor), "VISUAL": "",
                                               "SED_EXPR": "s/ed.test/edited.test/"}, check=0)
        self.assertIn("edited (Accepted)", ok.stdout)
        self.assertIn("edited.test", self.ctl("get", "vs", "ed", check=0).stdout)
        # An edit that would be rejected is refused, reopened, and abandoned when saved unchanged.
        refused = self.ctl("edit", "vs", "ed",
                           env={"EDITOR": str(editor), "VISUAL": "",
                                "SED_EXPR": "s/routes: \\[\\]/routes: [{matchers: [{prefix: \\/}], routeAction: {single: {upstream: {name: ghost}}}}]/"},
                           check=1)
        self.assertIn('upstream "ghost" not found', refused.stderr)
        self.assertIn("edit abandoned", refused.stderr)
        self.assertNotIn("ghost", (self.cfg / NAMESPACE / "virtualservice-ed.yaml").read_text())
        cancelled = self.ctl("edit", "vs", "ed", env={"EDITOR": "true", "VISUAL": ""}, check=0)
        self.assertIn("no changes", cancelled.stdout)

    # -- check --

    def test_check_fails_on_an_unhealthy_upstream(self):
        self.ctl("create", "upstream", "static", "fine", "--static-hosts", self.backend_host(), check=0)
        self.assertIn("No problems detected.", self.ctl("check", check=0).stdout)
        sick = upstream_yaml("sick", [(LOCALHOST, closed_port())], extra_spec={"healthChecks": [{
            "timeout": "1s", "interval": "0.1s", "unhealthyThreshold": 1, "healthyThreshold": 1,
            "httpHealthCheck": {"path": "/health"}}]})
        self.ctl("apply", "-f", "-", stdin=sick, check=0)
        out = wait_until(lambda: (lambda p: p if p.returncode == 1 else None)(self.ctl("check")), 10,
                         0.2, "check to fail").stdout
        self.assertIn("upstream sick.gloo-system: no healthy host", out)
        self.assertIn("Problems detected!", out)
        self.assertNotIn("fine.gloo-system", out)
        self.ctl("delete", "upstream", "sick", check=0)
        self.ctl("check", check=0)
        # a rejected object fails the check too
        self.ctl("add", "route", "--name", "bad", "-p", "/", "-u", "ghost", "--force", check=1)
        out = self.ctl("check", check=1).stdout
        self.assertIn("virtualservice bad.gloo-system is Rejected", out)

    # -- proxy, version, completion, usage --

    def test_proxy_version_completion(self):
        self.assertEqual(self.ctl("proxy", "url", check=0).stdout.strip(), f"http://{LOCALHOST}:{self.gw.port}")
        self.assertIn("no https gateway", self.ctl("proxy", "url", "--port", "https", check=1).stderr)
        self.assertIn("portico_controller", self.ctl("proxy", "stats", check=0).stdout)
        dump = json.loads(self.ctl("proxy", "dump", check=0).stdout)
        self.assertTrue(any(o["kind"] == "Gateway" for o in dump["objects"]))
        version = self.ctl("version", check=0).stdout
        self.assertRegex(version, r"porticoctl \d+\.\d+\.\d+\nportico \d+\.\d+\.\d+ ")
        bash = self.ctl("completion", "bash", check=0).stdout
        self.assertEqual(subprocess.run(["bash", "-n"], input=bash, text=True).returncode, 0)
        script = f"{bash}\nCOMP_WORDS=(porticoctl get v); COMP_CWORD=2; _porticoctl; echo ${{COMPREPLY[@]}}\n" \
                 f"COMP_WORDS=(porticoctl add route --pa); COMP_CWORD=3; _porticoctl; echo ${{COMPREPLY[@]}}\n"
        lines = subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout.splitlines()
        self.assertEqual(lines[0], "virtualservice")
        self.assertEqual(lines[1].split(), ["--path-exact", "--path-prefix", "--path-regex"])
        self.assertTrue(self.ctl("completion", "zsh", check=0).stdout.startswith("#compdef porticoctl"))

    def test_usage_errors_name_the_flag_and_exit_2(self):
        cases = [
            (["create", "upstream", "static", "x"], "--static-hosts"),
            (["create", "upstream", "static", "x", "--static-hosts", "h:99999"], "--static-hosts"),
            (["get", "upstream", "-o", "xml"], "--output"),
            (["get", "widgets"], "unknown kind"),
            (["add", "route", "-u", "x"], "--path-exact"),
            (["add", "route", "-p", "/", "-e", "/x", "-u", "x"], "only one"),
            (["add", "route", "-p", "/"], "--dest-name"),
            (["remove", "route"], "--index"),
            (["get", "upstream", "--bogus"], "--bogus"),
            (["delete", "upstream", "--static-hosts", "a"], "--static-hosts"),
            (["frobnicate"], "unknown command"),
            (["create"], "upstream static"),
            (["get", "upstream", "-o"], "-o needs a value"),
            (["completion", "fish"], "bash, zsh"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                p = self.ctl(*args, check=2)
                self.assertIn(needle, p.stderr)
        self.assertIn("--path-prefix", self.ctl("add", "route", "--help", check=0).stdout)
        self.assertIn("route sort", self.ctl("--help", check=0).stdout)
        unreachable = ctl(self.gw, "get", "upstream", env={"PORTICO_ADMIN": f"{LOCALHOST}:{closed_port()}"})
        self.assertEqual(unreachable.returncode, 1)
        self.assertIn("PORTICO_ADMIN", unreachable.stderr)

    # -- README --

    def test_readme_first_five_minutes(self):
        """Runs the README walkthrough line by line: the demo backend and the admin API
        addresses are this test's."""
        readme = (REPO_ROOT / "README.md").read_text()
        section = readme[readme.index("### First five minutes with porticoctl"):]
        block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
        lines = [l for l in block.splitlines() if l.strip() and not l.lstrip().startswith("#")]
        self.assertGreaterEqual(len(lines), 8)
        write_yaml(self.cfg, "quickstart.yaml", upstream_yaml("demo", [(LOCALHOST, self.backend.port)]) +
                   "---\n" + virtual_service_yaml("default", [route("demo", prefix="/")]))
        self.gw.wait_status("VirtualService", "default", "Accepted")
        env = dict(os.environ, PORTICO_ADMIN=f"{LOCALHOST}:{self.gw.admin_port}",
                   PATH=f"{PORTICOCTL.parent}:{os.environ.get('PATH', '')}")
        outputs = []
        for line in lines:
            cmd = line.replace("127.0.0.1:18080", self.backend_host()).replace(
                "127.0.0.1:19000", f"{LOCALHOST}:{self.gw.admin_port}")
            p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 0, f"README line failed: {line}\n{p.stdout}\n{p.stderr}")
            outputs.append((line, p.stdout))
        curl_out = next(out for line, out in outputs if line.startswith("curl"))
        self.assertEqual(json.loads(curl_out)["path"], "/echo")
        wide = next(out for line, out in outputs if "-o wide" in line)
        self.assertIn("exact:/pets/list->petstore prefix:/pets->petstore", wide)
        self.assertFalse((self.cfg / NAMESPACE / "upstream-petstore.yaml").exists())


class TokenTest(unittest.TestCase):
    """The admin API off loopback: /api needs the bearer token from --admin-token-file."""

    def start(self, token_file=None):
        cfg = Path(tempfile.mkdtemp(prefix="portico-ctl-token-"))
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", str(cfg)]))
        extra = ["--admin-token-file", str(token_file)] if token_file else []

        class Wildcard(Portico):
            def command(self):
                cmd = super().command()
                cmd[cmd.index("--admin-address") + 1] = f"0.0.0.0:{self.admin_port}"
                return cmd
        gw = Wildcard(cfg, extra_args=extra)
        gw.start()
        self.addCleanup(gw.stop)
        return gw

    def test_token_required_off_loopback(self):
        token_file = Path(tempfile.mkstemp(prefix="portico-token-")[1])
        self.addCleanup(token_file.unlink)
        token_file.write_text("s3cret-token\n")
        gw = self.start(token_file)
        denied = ctl(gw, "get", "gateway")
        self.assertEqual(denied.returncode, 1)
        self.assertIn("401", denied.stderr)
        self.assertEqual(ctl(gw, "create", "us", "static", "x", "--static-hosts", "10.0.0.1:80").returncode, 1)
        ok = ctl(gw, "--admin-token-file", token_file, "create", "us", "static", "x", "--static-hosts", "10.0.0.1:80", check=0)
        self.assertIn("created", ok.stdout)
        ctl(gw, "get", "upstream", env={"PORTICO_ADMIN_TOKEN": "s3cret-token"}, check=0)
        self.assertEqual(ctl(gw, "get", "upstream", env={"PORTICO_ADMIN_TOKEN": "wrong-token!"}).returncode, 1)
        self.assertEqual(http_request(gw.admin_port, "GET", "/statuses", host=LOCALHOST)[0], 401)
        self.assertEqual(http_request(gw.admin_port, "GET", "/ready", host=LOCALHOST)[0], 200)

    def test_no_token_off_loopback_refuses_api(self):
        gw = self.start()
        p = ctl(gw, "create", "us", "static", "x", "--static-hosts", "10.0.0.1:80")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--admin-token-file", p.stderr)
        self.assertEqual(http_request(gw.admin_port, "GET", "/statuses", host=LOCALHOST)[0], 200)


if __name__ == "__main__":
    unittest.main()
