"""End-to-end fixtures: the real SAM CLI running the real Lambda runtime interface client in Docker.

One session: `sam build`, a Redis container on a private docker network, `sam local start-api`
with warm containers on a free loopback port. Offline (SAM_LOCAL_OFFLINE=1, set by .ci/docker-up.sh)
the function runs in the stand-in python3.13 image (local/build-standin-image.sh) through
`--invoke-image ... --skip-pull-image`; otherwise SAM uses the public Lambda image as usual.

Without Docker these tests skip with a reason saying how to enable them; under CI (CI=true) a missing
prerequisite fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devsupport import docker, processes
from devsupport.events import EVENTS_DIR
from devsupport.ports import free_port
from devsupport.sam import OFFLINE, REDIS_IMAGE, STANDIN_IMAGE, find_sam, offline_args
from devsupport.sam import sam_env as _sam_env
from local.ministack import server as ministack_server
from local.ministack import settings as ministack_settings

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
LIMIT_BYTES = 250 * 1024 * 1024
# SAM coordinates concurrent image builds with lock files in the temp folder, shared by every SAM process
# on the machine: a lock left by a killed process elsewhere stalls an invoke for 5 minutes. Ours are private.
SAM_TMPDIR = Path(tempfile.gettempdir()) / f"sam-e2e-{os.getpid()}"
HOW_TO_ENABLE = (
    "start Docker (Debian as root: apt-get install docker.io iptables && local/start-docker.sh); "
    "without registry access also run local/build-standin-image.sh and set SAM_LOCAL_OFFLINE=1 "
    "(.ci/docker-up.sh does all of it); select with: pytest -m e2e"
)


def require(condition: bool, reason: str) -> None:
    """Skip on a developer's machine; fail under CI, where a missing prerequisite is not a pass."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"e2e prerequisite missing under CI: {reason}")
    pytest.skip(f"{reason} -- to enable: {HOW_TO_ENABLE}")


def _run(args: list[str], timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)


def _text(output: str | bytes | None) -> str:
    # TimeoutExpired may carry bytes even for a text-mode run (what was read before the timeout).
    return output.decode(errors="replace") if isinstance(output, bytes) else (output or "")


def sam_env() -> dict[str, str]:
    return _sam_env(SAM_TMPDIR)


@pytest.fixture(scope="session", autouse=True)
def _private_sam_tmpdir() -> Iterator[None]:
    yield
    shutil.rmtree(SAM_TMPDIR, ignore_errors=True)


@pytest.fixture(scope="session")
def sam_cli() -> str:
    sam = find_sam()
    require(sam is not None, "SAM CLI not found (make venv installs it into .venv-sam)")
    assert sam is not None
    return sam


@pytest.fixture(scope="session")
def docker_ready() -> None:
    problem = docker.docker_problem()
    require(problem is None, str(problem))
    if OFFLINE:
        for image in (STANDIN_IMAGE, REDIS_IMAGE):
            found = docker.image_exists(image)
            require(found, f"offline stand-in image {image} missing (local/build-standin-image.sh)")


@pytest.fixture(scope="session")
def sam_build(sam_cli: str, docker_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` as a developer runs it (samconfig.toml [default]), then the size check.

    Into a private build folder: other sessions in the same checkout may rebuild .aws-sam/build meanwhile."""
    build_dir = tmp_path_factory.mktemp("sam-build")
    log = build_dir.parent / "build.log"
    started = time.monotonic()
    result = _run([sam_cli, "build", "--build-dir", str(build_dir)], timeout=900, cwd=ROOT, env=sam_env())
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"sam build failed:\n{(result.stdout + result.stderr)[-4000:]}"
    print(f"\n[e2e] sam build: {time.monotonic() - started:.1f} s")
    override = os.environ.get("E2E_MODELS_DIR")  # testing aid: other model versions than the committed ones
    if override:
        target = build_dir / "ModelsLayer" / "models"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(override, target)
    manifests = sorted(build_dir.glob("ModelsLayer/models/*/manifest.json"))
    require(bool(manifests), "no model artifacts under layers/models/models (train them: make models)")
    report = _run(["bash", str(ROOT / "local" / "size-report.sh"), str(build_dir)], timeout=60)
    print("[e2e] deployment size (function + layers, unzipped):\n" + report.stdout.rstrip())
    return build_dir


@pytest.fixture(scope="session")
def redis_net(docker_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[docker.RedisNetwork]:
    """A private docker network with Redis on it; the function containers join it."""
    try:
        with docker.redis_network(f"sentiment-e2e-{os.getpid()}", tmp_path_factory.mktemp("sam")) as net:
            yield net
    except RuntimeError as error:
        require(False, str(error))
    finally:
        # every `sam local invoke` rebuilds the function image under the same tag: drop the leftovers
        pruning = time.monotonic()
        _run(["docker", "image", "prune", "-f"], timeout=120)
        print(f"[e2e] network, containers and dangling images removed (prune {time.monotonic() - pruning:.1f} s)")


def _http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@dataclass
class LocalApi:
    base: str
    log: Path
    host: str | None = None  # a Host header: how an emulator tells execute-api requests from its own API

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, dict[str, str], Any]:
        if self.host:
            headers = {"Host": self.host, **headers}
        status, response_headers, raw = _http(method, self.base + path, body, headers)
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, response_headers, parsed


@pytest.fixture(scope="session")
def local_api(
    sam_cli: str, sam_build: Path, redis_net: docker.RedisNetwork, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalApi]:
    """`sam local start-api` with warm containers, on the Redis network, until the session ends."""
    port = free_port()
    log = tmp_path_factory.mktemp("sam") / "start-api.log"
    args = [
        sam_cli, "local", "start-api", "--template-file", str(sam_build / "template.yaml"),
        "--host", "127.0.0.1", "--port", str(port),
        "--warm-containers", "EAGER", "--docker-network", redis_net.network,
        "--env-vars", str(redis_net.env_file), *offline_args(),
    ]  # fmt: skip
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, cwd=ROOT, env=sam_env(), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    api = LocalApi(base=f"http://127.0.0.1:{port}", log=log)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, f"sam local start-api exited:\n{log.read_text()[-4000:]}"
            try:
                if _http("GET", api.base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"start-api not ready in 300 s:\n{log.read_text()[-4000:]}"
            time.sleep(1)
        print(f"\n[e2e] sam local start-api ready in {time.monotonic() - started:.1f} s on {api.base}")
        yield api
    finally:
        stopping = time.monotonic()
        processes.stop(process, processes.SAM_STOP, group=True)
        print(f"\n[e2e] sam local start-api stopped in {time.monotonic() - stopping:.1f} s")


@dataclass
class InvokeResult:
    event: str
    returncode: int
    seconds: float
    response: dict[str, Any] | None
    output: str


def _invoke(sam_cli: str, template: Path, event: Path, redis_net: docker.RedisNetwork) -> InvokeResult:
    args = [
        sam_cli, "local", "invoke", "InferenceFunction", "--template-file", str(template), "--event", str(event),
        "--docker-network", redis_net.network, "--env-vars", str(redis_net.env_file), *offline_args(),
    ]  # fmt: skip
    started = time.monotonic()
    try:
        result = _run(args, timeout=420, cwd=ROOT, env=sam_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as timeout:
        output = _text(timeout.stdout) + _text(timeout.stderr)
        return InvokeResult(event.name, -1, time.monotonic() - started, None, f"timed out after 420 s\n{output}")
    response = None
    for line in reversed(result.stdout.strip().splitlines()):
        try:
            candidate = json.loads(line)
        except ValueError:
            continue
        if isinstance(candidate, dict) and "statusCode" in candidate:
            response = candidate
            break
    return InvokeResult(
        event.name, result.returncode, time.monotonic() - started, response, result.stdout + result.stderr
    )


@pytest.fixture(scope="session")
def invoked_events(sam_cli: str, sam_build: Path, redis_net: docker.RedisNetwork) -> dict[str, InvokeResult]:
    """`sam local invoke -e` for every file in events/, two at a time.

    With layers in the template SAM rebuilds the function image for every `sam local invoke` (~8 s here);
    concurrent invokes share one build. More than two at a time on two cores pushes cold starts past
    the function's timeout."""
    events = sorted(EVENTS_DIR.glob("*.json"))
    assert events, "no event files in events/"
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda event: _invoke(sam_cli, sam_build / "template.yaml", event, redis_net), events))
    print(f"\n[e2e] sam local invoke x{len(events)}: {time.monotonic() - started:.1f} s")
    return {result.event: result for result in results}


# ------------------------------------------------------------------------------------------------
# MiniStack: the AWS emulator the deploy rehearsal deploys to (local/ministack)
# ------------------------------------------------------------------------------------------------
MINISTACK_PYTHON = ministack_server.VENV_PYTHON
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass
class Emulator:
    server: ministack_server.Server
    region: str = "us-east-1"

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def aws_env(self) -> dict[str, str]:
        """sam_env() pointed at the emulator: AWS_ENDPOINT_URL (every botocore client, the SAM CLI's
        included) and fake credentials; any real profile or session of the caller is dropped."""
        env = {k: v for k, v in sam_env().items() if not k.startswith("AWS_")}
        return env | FAKE_CREDENTIALS | {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": self.region}

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def rest_api(self, api_id: str, stage: str) -> LocalApi:
        """A REST API's invoke URL on the emulator: https://{api}.execute-api.{region}.amazonaws.com/{stage}
        on AWS; here the same host-based routing, on loopback, with the emulator's host name."""
        host = f"{api_id}.execute-api.localhost:{self.server.port}"
        return LocalApi(base=f"{self.endpoint}/{stage}", log=self.server.log, host=host)


@pytest.fixture(scope="module")  # stopped after the module that uses it: nothing idles through the session
def ministack(docker_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """MiniStack on a free loopback port (python -m local.ministack, .venv-ministack), Lambda in Docker.

    Offline the function runs in the image local/build-ministack-image.sh builds from the stand-in;
    otherwise MiniStack pulls public.ecr.aws/lambda/python:3.13 itself."""
    require(MINISTACK_PYTHON.is_file(), "MiniStack not installed (make venv creates .venv-ministack)")
    image_prefix = None
    if OFFLINE:
        image_prefix = ministack_settings.OFFLINE_IMAGE_PREFIX
        env = dict(os.environ) | {"STANDIN_IMAGE": STANDIN_IMAGE, "MINISTACK_IMAGE_PREFIX": image_prefix}
        built = _run(["bash", str(ROOT / "local" / "build-ministack-image.sh")], timeout=300, env=env)
        assert built.returncode == 0, f"local/build-ministack-image.sh failed:\n{built.stderr[-3000:]}"
    workdir = tmp_path_factory.mktemp("ministack")
    started = time.monotonic()
    server = ministack_server.start(free_port(), workdir / "ministack.log", workdir / "tmp", image_prefix)
    print(f"\n[e2e] ministack ready in {time.monotonic() - started:.1f} s on {server.endpoint}")
    try:
        yield Emulator(server=server)
    finally:
        stopping = time.monotonic()
        leftovers = ministack_server.stop(server)
        shutil.rmtree(workdir / "tmp", ignore_errors=True)  # extracted code and layers
        print(f"\n[e2e] ministack stopped in {time.monotonic() - stopping:.1f} s")
        assert not leftovers, f"ministack left containers behind: {leftovers}"
