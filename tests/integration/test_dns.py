"""--dns-servers: upstream host names resolved by the DNS servers given on the command line
instead of /etc/resolv.conf's.

Real peer: dnsmasq (Debian dnsmasq-base) started by the test on a free loopback port, with no
upstream servers and no hosts file, answering one name that nothing else knows.
"""

import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import (LOCALHOST, PORTICO_BIN, Backend, Portico, free_port, http_request,
                     route, upstream_yaml, virtual_service_yaml, wait_until, write_yaml)

NAME = "svc.lambda.test"  # known to the test's dnsmasq only (.test is reserved: RFC 2606)
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


class Dnsmasq:
    """dnsmasq in the foreground on 127.0.0.1:<free port>, answering NAME with 127.0.0.1."""

    def __init__(self, log):
        self.log = log
        self.port = None
        self.proc = None

    def __enter__(self):
        if not Path(DNSMASQ).exists():
            raise unittest.SkipTest("dnsmasq not installed (scripts/install-deps.sh)")
        for _ in range(5):  # the free TCP port may be taken for UDP, or meanwhile
            self.port = free_port()
            self.proc = subprocess.Popen(
                [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                 "--no-hosts", "--bind-interfaces", f"--listen-address={LOCALHOST}",
                 f"--port={self.port}", f"--address=/{NAME}/{LOCALHOST}", "--log-queries",
                 f"--log-facility={self.log}", "--pid-file=", "--user=root"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.3)
            if self.proc.poll() is None:
                return self
            self.proc.stderr.read()
        raise RuntimeError(f"dnsmasq did not start: {self.proc.stderr.read().decode()}")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stderr.close()

    def queries(self):
        return Path(self.log).read_text(errors="replace") if Path(self.log).exists() else ""


class DnsServersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="portico-dns-")
        cls.dns = Dnsmasq(str(Path(cls.tmp.name) / "dnsmasq.log")).__enter__()
        cls.backend = Backend("named").start()

    @classmethod
    def tearDownClass(cls):
        cls.backend.stop()
        cls.dns.__exit__(None, None, None)
        cls.tmp.cleanup()

    def config(self, name):
        cfg = Path(self.tmp.name) / name
        write_yaml(cfg, "up.yaml", upstream_yaml("named", [(NAME, self.backend.port)]))
        write_yaml(cfg, "vs.yaml", virtual_service_yaml("default", [route("named", prefix="/")]))
        return cfg

    def test_name_resolved_by_the_given_server(self):
        with Portico(self.config("with"), extra_args=["--dns-servers", f"{LOCALHOST}:{self.dns.port}"]) as gw:
            gw.wait_status("Upstream", "named", "Accepted")
            wait_until(lambda: http_request(gw.port, "GET", "/echo")[0] == 200, timeout=10,
                       message=f"{NAME} to resolve through dnsmasq")
            status, headers, body = http_request(gw.port, "GET", "/echo")
            self.assertEqual(status, 200, body)
            self.assertEqual(headers.get("x-backend"), "named")
        self.assertIn(f"query[A] {NAME}", self.dns.queries())

    def test_without_the_flag_the_name_is_unknown(self):
        with Portico(self.config("without")) as gw:
            time.sleep(1.0)  # the first resolution attempt has had time to fail
            status, _, body = http_request(gw.port, "GET", "/echo")
            self.assertEqual(status, 503, body)

    def test_bad_values_are_cli_errors_naming_the_flag(self):
        for value, why in [("dns.example", "is not an IPv4 or IPv6 address"),
                           ("127.0.0.1:0", "port 0"), ("127.0.0.1:70000", "port out of range"),
                           ("127.0.0.1,,::1", "empty server"), ("", "empty server")]:
            out = subprocess.run([str(PORTICO_BIN), "run", "--config-dir", self.tmp.name,
                                  "--dns-servers", value, "--admin-address", "127.0.0.1:1"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn("--dns-servers: ", out.stderr)
            self.assertIn(why, out.stderr)


if __name__ == "__main__":
    unittest.main()
