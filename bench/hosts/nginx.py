"""deploy/nginx.conf run for real, outside /etc: its addresses, ports and paths rewritten, nothing else.

For bench/hosts/run.py and tests/ops/test_nginx.py. Needs Debian's nginx (apt-get install nginx) and openssl
for a self-signed certificate.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx.conf"


def require_nginx() -> str:
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if not found:
        raise RuntimeError("nginx is needed to run deploy/nginx.conf: apt-get install nginx")
    return str(found)


def render(directory: Path, *, upstreams: list[str], listen: str, http_port: int, https_port: int,
           static_root: Path, media_root: Path) -> Path:  # fmt: skip
    """Write a top-level nginx.conf in `directory` that includes deploy/nginx.conf rewritten to serve on
    `listen`:`https_port` (TLS, self-signed) and `http_port` (the redirect), in front of `upstreams`."""
    directory.mkdir(parents=True, exist_ok=True)
    text = CONF.read_text()
    servers = "".join(f"    server {address} max_fails=1 fail_timeout=10s;\n" for address in upstreams)
    text = re.sub(r"    server 127\.0\.0\.1:8000 [^\n]*\n", servers, text)
    replacements = {
        "/var/cache/nginx/plume": str(directory / "cache"),
        "/var/log/nginx/": f"{directory}/",
        "/etc/letsencrypt/live/plume.example.org/fullchain.pem": str(directory / "cert.pem"),
        "/etc/letsencrypt/live/plume.example.org/privkey.pem": str(directory / "key.pem"),
        "/srv/plume/var/static/": f"{static_root}/",
        "/srv/plume/media/": f"{media_root}/",
        "listen 80;": f"listen {listen}:{http_port};",
        "listen 443 ssl http2;": f"listen {listen}:{https_port} ssl http2;",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}: update bench/hosts/nginx.py"
        text = text.replace(old, new)
    text = re.sub(r"    listen \[::\]:\d+[^\n]*\n", "", text)
    (directory / "site.conf").write_text(text)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=plume.test",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    main = directory / "nginx.conf"
    # Run as root (the bench and tests are): its workers then read the temporary directories they are given,
    # which pytest keeps closed to other users. A real server keeps Debian's www-data.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}pid {directory}/nginx.pid;\nerror_log {directory}/error.log warn;\nworker_processes 1;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  client_body_temp_path {directory}/body;\n"
        f"  proxy_temp_path {directory}/proxy;\n  include {directory}/site.conf;\n}}\n"
    )
    return main


def start(main: Path, prefix: list[str] | None = None) -> None:
    """Check and start nginx on `main` (with `prefix`, such as `ip netns exec NAME`)."""
    nginx = require_nginx()
    subprocess.run([*(prefix or []), nginx, "-t", "-c", str(main)], check=True, capture_output=True)
    subprocess.run([*(prefix or []), nginx, "-c", str(main)], check=True, capture_output=True)


def stop(main: Path) -> None:
    pid_file = main.parent / "nginx.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().strip())
        subprocess.run(["kill", "-QUIT", str(pid)], check=False)
        for _ in range(50):
            if not pid_file.exists():
                break
            time.sleep(0.1)
