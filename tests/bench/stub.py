"""A fast stub Engine for the CPU benchmarks: nginx on a unix socket, answering from memory.

Against a real daemon its own latency (60–300 µs a ping) hides what a client costs; nginx
answers ``/_ping`` and ``/version`` (any API version prefix, GET or HEAD) with static bodies
and the headers Docker sends, so the client's CPU time per request is what is left to see.

`start()` installs Debian's ``nginx-light`` with apt when no nginx is on the PATH (as root on
Debian, like ``tests/engines/engines.sh`` installs the engines), writes its configuration,
socket, logs and temp files under a fresh temporary directory, and runs one worker in the
foreground as a child of this process; `Stub.stop()` ends it and removes the directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

API_VERSION = "1.51"
VERSION_BODY = (
    '{"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"28.5.2","Details":'
    '{"ApiVersion":"1.51","Arch":"amd64","MinAPIVersion":"1.24","Os":"linux"}}],'
    '"Version":"28.5.2","ApiVersion":"1.51","MinAPIVersion":"1.24","GitCommit":"0000000",'
    '"GoVersion":"go1.24.8","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0",'
    '"BuildTime":"2025-10-08T12:17:36.000000000+00:00"}'
)

# The headers dockerd sends on every reply (nginx adds Server, Date, Content-Length and
# Connection itself).
_DOCKER_HEADERS = f"""
        add_header Api-Version {API_VERSION} always;
        add_header Docker-Experimental false always;
        add_header Ostype linux always;
"""

_CONFIG = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    server_tokens off;
    server {{
        listen unix:{dir}/engine.sock;
        location ~ /_ping$ {{
            {headers}
            add_header Builder-Version 2 always;
            add_header Cache-Control "no-cache, no-store, must-revalidate" always;
            add_header Pragma no-cache always;
            add_header Swarm inactive always;
            default_type "text/plain; charset=utf-8";
            return 200 "OK";
        }}
        location ~ /version$ {{
            {headers}
            default_type application/json;
            return 200 '{version}';
        }}
        location / {{
            {headers}
            default_type application/json;
            return 404 '{{"message":"page not found"}}';
        }}
    }}
}}
"""


@dataclass
class Stub:
    process: subprocess.Popen[bytes]
    directory: str
    socket: str

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def nginx_binary() -> str:
    """nginx's path, installing Debian's nginx-light when it is missing (root on Debian)."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        raise RuntimeError("nginx is not installed: install nginx-light (Debian) or nginx")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # policy-rc.d keeps apt from starting the packaged service on port 80 where it may.
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True, env=env)
    return "/usr/sbin/nginx"


def start() -> Stub:
    binary = nginx_binary()
    directory = tempfile.mkdtemp(prefix="engineapi-stub-")
    os.chmod(directory, 0o755)  # nginx's worker may run as another user
    config = Path(directory, "nginx.conf")
    config.write_text(_CONFIG.format(dir=directory, headers=_DOCKER_HEADERS, version=VERSION_BODY))
    user = [] if os.geteuid() != 0 else ["-g", "user root;"]
    process = subprocess.Popen(
        [binary, "-p", directory, "-c", str(config), "-e", f"{directory}/error.log", *user],
        stdin=subprocess.DEVNULL,
    )
    path = f"{directory}/engine.sock"
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(path)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = Path(directory, "error.log")
                text = log.read_text() if log.exists() else ""
                Stub(process, directory, path).stop()
                raise RuntimeError(f"the nginx stub did not start: {text}") from None
            time.sleep(0.02)
    return Stub(process, directory, path)


if __name__ == "__main__":
    stub = start()
    print(stub.url)
    try:
        subprocess.run(["curl", "-si", "--unix-socket", stub.socket, "http://d/_ping"])
        print()
        subprocess.run(["curl", "-si", "--unix-socket", stub.socket, "http://d/v1.51/version"])
        print()
    finally:
        stub.stop()
