"""The local stack (``python -m botplot_dev.local_stack``) as a subprocess the tests talk to over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class LocalStack:
    def __init__(self, state_dir: Path, extra_env: dict[str, str] | None = None):
        self.state_dir = state_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PORT": str(self.port), "BOTPLOT_STATE_DIR": str(state_dir),
                    "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        for name in ("AWS_ENDPOINT_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            if name not in (extra_env or {}):
                self.env.pop(name, None)
        self.log_path = state_dir.parent / f"stack-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.info: dict = {}

    def start(self, timeout: float = 90) -> "LocalStack":
        log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "botplot_dev.local_stack"], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        local_json = self.state_dir / "local.json"
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"local stack exited early:\n{self.log_path.read_text()[-3000:]}")
                if local_json.exists():
                    self.info = json.loads(local_json.read_text())
                    return self
                time.sleep(0.2)
            raise RuntimeError(f"local stack did not start in {timeout}s:\n{self.log_path.read_text()[-3000:]}")
        except BaseException:  # a stack that did not start (or whose keys could not be read) must not outlive us
            self.stop()
            raise

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode if self.process else None

    # ---- helpers the tests use
    def client(self, key: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def cli(self, *args: str) -> dict:
        """Run the ``botplot`` CLI against this stack, as a developer would."""
        result = subprocess.run([str(Path(sys.executable).parent / "botplot"), *args], cwd=ROOT,
                                env={**self.env}, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"botplot {' '.join(args)} failed: {result.stderr}")
        return json.loads(result.stdout)

    def new_project(self, plan: str = "enterprise", name: str = "Test project") -> dict:
        return self.cli("project", "create", "--name", name, "--plan", plan)

    def aws(self, service: str):
        """A boto3 client on the stack's moto, to look at what the API stored."""
        return boto3.client(service, endpoint_url=self.info["awsEndpoint"], region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")

    def table(self, suffix: str):
        name = self.info["environment"].get(f"BOTPLOT_TABLE_{suffix}", "botplot-" + suffix.lower().replace("_", "-"))
        return boto3.resource("dynamodb", endpoint_url=self.info["awsEndpoint"], region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local").Table(name)
