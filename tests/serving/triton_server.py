"""Starts and stops a real tritonserver (the binary nvidia-pytriton ships) on loopback ports,
for the Triton backend's tests and scripts/bench_serving.py. Only the server this module
started is ever signalled, by its process id."""
import glob
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def tritonserver_binary():
    """TRITONSERVER, else the binary inside the venv's nvidia-pytriton (scripts/setup.sh)."""
    path = os.environ.get("TRITONSERVER")
    if path:
        return path
    import importlib.util
    spec = importlib.util.find_spec("pytriton")
    if spec and spec.submodule_search_locations:
        for d in spec.submodule_search_locations:
            cand = os.path.join(d, "tritonserver", "bin", "tritonserver")
            if os.access(cand, os.X_OK):
                return cand
    raise RuntimeError("no tritonserver: run scripts/setup.sh (installs nvidia-pytriton==0.7.0) "
                       "or set TRITONSERVER")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """tritonserver with every model of repo loaded (explicit model control, so tests can unload
    and load), HTTP and gRPC on free loopback ports, verbose log to log_path."""

    def __init__(self, repo, backend_dir, log_path, verbose=True):
        self.http_port, self.grpc_port = free_port(), free_port()
        self.log_path = log_path
        args = [tritonserver_binary(), f"--model-repository={repo}",
                f"--backend-directory={backend_dir}", "--model-control-mode=explicit",
                "--load-model=*", "--http-address=127.0.0.1", f"--http-port={self.http_port}",
                "--grpc-address=127.0.0.1", f"--grpc-port={self.grpc_port}",
                "--allow-metrics=false", "--exit-timeout-secs=20",
                f"--log-verbose={1 if verbose else 0}"]
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.http_url = f"127.0.0.1:{self.http_port}"
        self.grpc_url = f"127.0.0.1:{self.grpc_port}"

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tritonserver exited with {self.proc.returncode}: "
                                   f"see {self.log_path}\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://{self.http_url}/v2/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"tritonserver not ready after {timeout} s: see {self.log_path}")

    def log_tail(self, n=30):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def log(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=30):
        """SIGTERM to our server, then its exit code (SIGKILL after timeout, returning None)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self._log.close()
                return None
        self._log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()


def start(repo, backend_dir, log_path, verbose=True, tries=3):
    """A ready Server; a port taken between free_port() and the server's bind is retried with
    new ports (up to tries times), any other failure raises at once."""
    for attempt in range(tries):
        server = Server(repo, backend_dir, log_path, verbose)
        try:
            server.wait_ready()
            return server
        except RuntimeError:
            server.stop()
            if attempt + 1 == tries or "already in use" not in server.log():
                raise
