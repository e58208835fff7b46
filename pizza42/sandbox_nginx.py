"""nginx from Debian's package in front of local gunicorns: the shipped edge (deploy/nginx/) on loopback ports.

deploy/nginx/nginx.conf, pizza42-app.conf and the chosen servers/*.conf (edge.conf: TLS and the redirect;
alb.conf: plain HTTP behind a load balancer) are copied as they are; only the site files
(deploy/nginx/pizza42/*.conf: addresses, host name, certificate, paths, CORS origins, the trusted proxy) are
written for this machine. `make run-edge`, the edge tests and the benchmark all run the very files operators
install. Never imported in production (wsgi.py, the app).
"""

from __future__ import annotations

import datetime
import grp
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pizza42.edge.cors import nginx_cors_map

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "deploy" / "nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
SITE_FILES = ("main.conf", "http.conf", "upstream.conf", "http-server.conf", "https-server.conf", "alb-server.conf",
              "cors.conf")
SERVERS = ("edge", "alb")  # deploy/nginx/servers/<name>.conf: the two topologies


def nginx_binary() -> str:
    """Debian's nginx (often not on a non-root PATH)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise RuntimeError("nginx is not installed: `apt-get install nginx` (Debian) or `dnf install nginx`")
    return found


def self_signed_certificate(directory: Path, name: str = "server", days: int = 1) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass(frozen=True)
class LocalSite:
    """What differs from production: loopback ports, the instances' sockets, a certificate, local paths."""

    run_dir: Path
    http_port: int
    https_port: int
    upstreams: Sequence[str]  # nginx upstream addresses, e.g. "unix:/tmp/x/app-1.sock"
    certificate: Path
    key: Path
    host: str = "127.0.0.1"
    unlimited: Sequence[str] = ()  # addresses the rate limits skip (the benchmark's load generator)
    cors_origins: Sequence[str] = ()  # the app's CORS_ORIGINS
    servers: Sequence[str] = ("edge",)  # which of deploy/nginx/servers/ run: "edge", "alb" or both
    alb_port: int = 0  # servers/alb.conf's port (8080 in production)
    alb_proxies: Sequence[str] = ("127.0.0.1",)  # set_real_ip_from: the "load balancer" (a VPC CIDR in production)

    def site_files(self) -> dict[str, str]:
        """The site files, for loopback."""
        run = self.run_dir
        # As root (CI, a container), the workers run as root too: they must read the run directory,
        # which mkdtemp made private. As anyone else, nginx cannot switch users and needs no `user`.
        user = ""
        if os.geteuid() == 0:
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
        temp = "".join(f"{kind}_temp_path {run / 'temp' / kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        unlimited = "".join(f"    {address} 1;\n" for address in self.unlimited)
        return {
            "main.conf": f"{user}pid {run / 'nginx.pid'};\nerror_log {run / 'error.log'} warn;\n",
            "http.conf": (f"access_log {run / 'access.log'} pizza42;\nroot {ROOT};\n{temp}"
                          f"geo $pizza42_unlimited {{\n    default 0;\n{unlimited}}}\n"),
            "upstream.conf": "".join(f"server {address} max_fails=1 fail_timeout=2s;\n"
                                     for address in self.upstreams),
            "http-server.conf": (f"listen {self.host}:{self.http_port};\nserver_name {self.host};\n"
                                 f'set $pizza42_https_port ":{self.https_port}";\n'),
            "https-server.conf": (f"listen {self.host}:{self.https_port} ssl http2;\nserver_name {self.host};\n"
                                  f"ssl_certificate {self.certificate};\nssl_certificate_key {self.key};\n"),
            "alb-server.conf": f"listen {self.host}:{self.alb_port};\n"
                               + "".join(f"set_real_ip_from {proxy};\n" for proxy in self.alb_proxies),
            "cors.conf": nginx_cors_map(self.cors_origins),
        }


def render(site: LocalSite) -> Path:
    """Write the shipped files (unchanged), the chosen servers and the local site files under run_dir; the path
    of nginx.conf."""
    shipped = sorted(path.name for path in (SHIPPED / "pizza42").glob("*.conf"))
    if shipped != sorted(SITE_FILES):
        raise RuntimeError(f"deploy/nginx/pizza42/ has {shipped}, expected {sorted(SITE_FILES)}")
    if not site.servers or set(site.servers) - set(SERVERS):
        raise ValueError(f"servers must be some of {SERVERS}, got {site.servers}")
    conf_dir = site.run_dir / "nginx"
    (conf_dir / "pizza42").mkdir(parents=True, exist_ok=True)
    (conf_dir / "pizza42-servers").mkdir(exist_ok=True)
    (site.run_dir / "temp").mkdir(exist_ok=True)
    for name in ("nginx.conf", "pizza42-app.conf"):
        shutil.copyfile(SHIPPED / name, conf_dir / name)
    for server in site.servers:
        shutil.copyfile(SHIPPED / "servers" / f"{server}.conf", conf_dir / "pizza42-servers" / f"{server}.conf")
    shutil.copyfile(MIME_TYPES, conf_dir / "mime.types")  # the package's, as in production
    for name, text in site.site_files().items():
        (conf_dir / "pizza42" / name).write_text(text)
    return conf_dir / "nginx.conf"


class Nginx:
    """nginx in the foreground (`daemon off`) on a rendered configuration; stopped by its pid."""

    def __init__(self, site: LocalSite) -> None:
        self.site = site
        self.conf = render(site)
        self.log_path = site.run_dir / "nginx.log"
        argv = [nginx_binary(), "-p", str(self.conf.parent), "-c", str(self.conf), "-e", "stderr"]
        check = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([*argv, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def http_url(self) -> str:
        """The plain-HTTP address (it redirects to HTTPS)."""
        return f"http://{self.site.host}:{self.site.http_port}"

    @property
    def https_url(self) -> str:
        """The shop's address."""
        return f"https://{self.site.host}:{self.site.https_port}"

    @property
    def alb_url(self) -> str:
        """The address a load balancer forwards to (servers/alb.conf: plain HTTP)."""
        return f"http://{self.site.host}:{self.site.alb_port}"

    @property
    def error_log(self) -> str:
        """What nginx logged (warnings and errors)."""
        path = self.site.run_dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self, timeout: float = 15.0) -> Nginx:
        """Wait until the HTTPS port completes a TLS handshake (the ALB port accepts, without edge.conf)."""
        edge = "edge" in self.site.servers
        context = ssl.create_default_context(cafile=str(self.site.certificate)) if edge else None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                port = self.site.https_port if edge else self.site.alb_port
                with socket.create_connection((self.site.host, port), timeout=2) as raw:
                    if context is not None:
                        context.wrap_socket(raw, server_hostname=self.site.host).close()
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Graceful stop (SIGQUIT), then SIGTERM; SIGKILL to its process group if it lingers."""
        for signum in (signal.SIGQUIT, signal.SIGTERM):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(signum)
            try:
                self.proc.wait(5)
                return
            except subprocess.TimeoutExpired:
                continue
        os.killpg(self.proc.pid, signal.SIGKILL)  # its own group (start_new_session): master and workers
        self.proc.wait(5)
