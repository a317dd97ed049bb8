"""The built function in a Lambda-sized container: one execution environment per container, driven through the
runtime interface emulator (RIE) the way Lambda drives the runtime, for `make tune` (bench/tune.py).

- size: `--memory` at MemorySize (no swap, as on Lambda) and `--cpus` at MemorySize / 1769 (Lambda's one vCPU)
- layout: the built function (.aws-sam/build/InferenceFunction) at /var/task and the layers unpacked into /opt
  in template.yaml's order (a later layer's files win), all read-only; the layers are merged once into
  .aws-sam/tune/opt with hard links (no copy), because a bind mount cannot overlay two folders on /opt/python
- environment: template.yaml's Environment for InferenceFunction with the parameters' defaults, plus the variables
  Lambda sets itself (_HANDLER, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, ...); REDIS_URL points at a Redis container
- RIE: the binary that ships inside the SAM CLI (samcli/local/rapid/), mounted at /var/rapid/aws-lambda-rie, as
  `sam local` adds it; it starts /var/runtime/bootstrap on the first invoke. POST
  /2015-03-31/functions/function/invocations on a published loopback port is one invoke.

What the RIE's REPORT lines are worth (checked here): Duration is the runtime's turn from the event handed over to
the answer posted (Lambda's Duration); Init Duration is not the init (the runtime starts lazily, so the init lands
in the first Duration); Max Memory Used always equals Memory Size. Peak memory is therefore read from the
container: the runtime process's peak RSS (VmHWM) and the cgroup's peak.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml  # CloudFormation's !Ref and !If tags

from devsupport import ROOT
from devsupport.docker import docker, image_exists
from devsupport.sam import FUNCTION_ID, OFFLINE, REDIS_IMAGE, STANDIN_IMAGE, find_sam

BUILD = ROOT / ".aws-sam" / "build"
TEMPLATE = ROOT / "template.yaml"
MERGED_OPT = ROOT / ".aws-sam" / "tune" / "opt"
# template.yaml's Layers with ScikitLearnRuntime=attached (the default), in order.
LAYERS = ("DependenciesLayer", "ModelsLayer", "ScikitLearnLayer")
ONE_VCPU_MB = 1769  # Lambda: CPU in proportion to memory, one full vCPU at 1,769 MB
PUBLIC_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
STANDIN_REDIS_IMAGE = "sentiment-standin/redis:trixie"  # local/build-standin-image.sh builds it with STANDIN_IMAGE
RIE_IN_CONTAINER = "/var/rapid/aws-lambda-rie"
RIE_PORT = 8080
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
LABEL = "org.sentiment.tune"
# No Redis or X-Ray endpoint of the stack exists here: REDIS_URL is the local container, tracing is off.
OVERRIDDEN = ("REDIS_URL", "REDIS_SECRET_ARN", "POWERTOOLS_TRACE_DISABLED", "CONFIG_FINGERPRINT")

_REPORT = re.compile(r"^REPORT RequestId: \S+\s+(?:Init Duration: (?P<init>[\d.]+) ms\s+)?Duration: (?P<ms>[\d.]+) ms")
_MAX_MEMORY = re.compile(r"Max Memory Used: (\d+) MB")


def cpus(memory_mb: int) -> float:
    return memory_mb / ONE_VCPU_MB


def images() -> tuple[str, str]:
    """Function and Redis images: the offline stand-ins when asked for or built here, else the public ones."""
    if OFFLINE or image_exists(STANDIN_IMAGE):
        chosen = OFFLINE or "REDIS_IMAGE" in os.environ
        return STANDIN_IMAGE, REDIS_IMAGE if chosen else STANDIN_REDIS_IMAGE
    return PUBLIC_IMAGE, REDIS_IMAGE


def find_rie() -> Path:
    """$RIE_BINARY, or the x86_64 RIE inside the SAM CLI's installation (the one `sam local` uses)."""
    if os.environ.get("RIE_BINARY"):
        return Path(os.environ["RIE_BINARY"])
    sam = find_sam()
    if sam is not None:
        found = sorted(Path(sam).parents[1].glob("lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64"))
        if found:
            return found[-1]
    raise RuntimeError("runtime interface emulator not found: run `make venv` (SAM CLI in .venv-sam) or set RIE_BINARY")


def _link(source: str, target: str) -> None:
    if os.path.lexists(target):  # a later layer's file replaces an earlier one's, as Lambda unpacks them
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:  # another file system: copy
        shutil.copy2(source, target)


def merged_opt(target: Path = MERGED_OPT) -> Path:
    """/opt as Lambda unpacks the layers, from `sam build`'s output, as hard links in ``target``."""
    missing = [layer for layer in LAYERS if not (BUILD / layer).is_dir()]
    if missing or not (BUILD / FUNCTION_ID).is_dir():
        raise RuntimeError(f"no `sam build` output for {missing or [FUNCTION_ID]} in {BUILD}: run `make build` first")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for layer in LAYERS:
        shutil.copytree(BUILD / layer, target, copy_function=_link, dirs_exist_ok=True, symlinks=True)
    return target


def _resolve(value: Any, defaults: Mapping[str, str]) -> str | None:
    """A literal, or a !Ref to a parameter (its default); None for anything that needs the stack."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping) and set(value) == {"Ref"} and value["Ref"] in defaults:
        return defaults[value["Ref"]]
    return None


def template_parameters(template: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    return {str(name): dict(spec) for name, spec in cfn_yaml.loads(template.read_text())["Parameters"].items()}


def template_function(template: Path = TEMPLATE) -> tuple[str, dict[str, str]]:
    """InferenceFunction's handler and its environment with the parameters' defaults (without OVERRIDDEN)."""
    parsed = cfn_yaml.loads(template.read_text())
    defaults = {name: str(spec.get("Default", "")) for name, spec in template_parameters(template).items()}
    properties = parsed["Resources"][FUNCTION_ID]["Properties"]
    environment: dict[str, str] = {}
    for name, value in properties["Environment"]["Variables"].items():
        resolved = _resolve(value, defaults)
        if name in OVERRIDDEN:
            continue
        if resolved is None:
            raise RuntimeError(f"template.yaml: {FUNCTION_ID} variable {name} needs the stack; add it to OVERRIDDEN")
        environment[str(name)] = resolved
    return str(properties["Handler"]), environment


def lambda_environment(handler: str, memory_mb: int) -> dict[str, str]:
    """What Lambda itself sets in the execution environment (the parts the runtime and Powertools read)."""
    return {
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_ID,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        # the RIE's own timeout, generous: Lambda's limits are judged from the measurement instead
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "300",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


@dataclass(frozen=True)
class Report:
    """One REPORT line of the RIE."""

    duration_ms: float
    init_ms: float | None
    max_memory_mb: int | None


@dataclass(frozen=True)
class Memory:
    runtime_peak_rss_mb: float | None  # VmHWM of the Python runtime process
    cgroup_peak_mb: float | None  # memory.peak (cgroup v2) or memory.max_usage_in_bytes (v1)
    oom_killed: bool


class Function:
    """One container = one execution environment. start() returns once the RIE's port is published."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.connection: http.client.HTTPConnection | None = None

    def start(self, image: str, network: str, memory_mb: int, environment: Mapping[str, str], tag: str) -> None:
        mounts = [(BUILD / FUNCTION_ID, "/var/task"), (MERGED_OPT, "/opt"), (find_rie(), RIE_IN_CONTAINER)]
        args = ["run", "-d", "--name", self.name, "--label", f"{LABEL}={tag}", "--network", network,
                "--cpus", f"{cpus(memory_mb):.4f}", "--memory", f"{memory_mb}m", "--memory-swap", f"{memory_mb}m",
                "-p", f"127.0.0.1::{RIE_PORT}", "--entrypoint", RIE_IN_CONTAINER]  # fmt: skip
        for source, target in mounts:
            args += ["-v", f"{source}:{target}:ro"]
        for key, value in environment.items():
            args += ["-e", f"{key}={value}"]
        started = docker(*args, image, "--log-level", "error", "/var/runtime/bootstrap", timeout=120)
        if started.returncode != 0:
            raise RuntimeError(f"docker run {self.name} failed: {started.stderr.strip()[-500:]}")
        published = docker("port", self.name, f"{RIE_PORT}/tcp", timeout=30).stdout.split()
        self.port = int(published[0].rsplit(":", 1)[1])

    def invoke(self, event: Mapping[str, Any], timeout: float = 60) -> tuple[float, dict[str, Any]]:
        """One invoke: client-side ms (send to last byte) and the function's answer (an API Gateway response)."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        self.connection.timeout = timeout
        body = json.dumps(event)
        started = time.perf_counter()
        try:
            self.connection.request("POST", INVOKE_PATH, body=body, headers={"Content-Type": "application/json"})
            raw = self.connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        return (time.perf_counter() - started) * 1000, json.loads(raw)

    def first_invoke(self, event: Mapping[str, Any], timeout: float) -> tuple[float, dict[str, Any]]:
        """The cold invoke. docker's port proxy accepts before the RIE listens: retry until the RIE takes it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.invoke(event, timeout)
            except (ConnectionError, http.client.RemoteDisconnected):
                if time.monotonic() > deadline or not self.running():
                    raise
                time.sleep(0.02)

    def running(self) -> bool:
        return docker("inspect", "-f", "{{.State.Running}}", self.name, timeout=30).stdout.strip() == "true"

    def reports(self) -> list[Report]:
        logs = docker("logs", self.name, timeout=120)
        found = []
        for line in (logs.stdout + logs.stderr).splitlines():
            match = _REPORT.match(line)
            if match:
                memory = _MAX_MEMORY.search(line)
                init = float(match["init"]) if match["init"] else None
                found.append(Report(float(match["ms"]), init, int(memory.group(1)) if memory else None))
        return found

    def memory(self) -> Memory:
        script = (
            "cat /sys/fs/cgroup/memory.peak /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null;"
            " grep -H -E '^(Name|VmHWM):' /proc/[0-9]*/status 2>/dev/null"
        )
        output = docker("exec", self.name, "sh", "-c", script, timeout=60).stdout.splitlines()
        oom = docker("inspect", "-f", "{{.State.OOMKilled}}", self.name, timeout=30).stdout.strip() == "true"
        cgroup = next((int(line) / 1024**2 for line in output if line.strip().isdigit()), None)
        return Memory(_runtime_peak(output), cgroup, oom)

    def remove(self) -> None:
        if self.connection is not None:
            self.connection.close()
        docker("rm", "-f", self.name, timeout=60)


def _runtime_peak(status_lines: list[str]) -> float | None:
    """The largest VmHWM (MB) among the Python processes, from `grep -H` lines of /proc/PID/status."""
    names: dict[str, str] = {}
    peaks: dict[str, int] = {}
    for line in status_lines:
        path, _, field = line.partition(":")
        key, _, value = field.partition(":")
        if key == "Name":
            names[path] = value.strip()
        elif key == "VmHWM":
            peaks[path] = int(value.split()[0])
    python = [kb for path, kb in peaks.items() if names.get(path, "").startswith("python")]
    return max(python) / 1024 if python else None
