"""Regenerate the layer locks (run by `make lock`; needs uv from requirements-dev.txt and network access).

    python lock.py --uv UV --glibc-minors "34 33 ... 17"

Writes, for Lambda's python3.13 (cp313, manylinux, x86_64 AND aarch64):
  layers/dependencies/requirements.lock  the closure of layers/dependencies/requirements.txt
  layers/scikit-learn/requirements.lock  the closure of both requirements.txt files resolved TOGETHER, minus
                                         every distribution of the dependencies layer (the function sees both
                                         layers in /opt/python; a copy would only count twice against 250 MB)

1. uv resolves each set for x86_64-manylinux_2_34 and aarch64-manylinux_2_34 with wheels only; the two
   architectures must resolve to the same versions (one lock serves LAMBDA_ARCHITECTURE=x86_64 and arm64),
   and the combined set must keep every version of the dependencies layer (else: a clash, no lock).
2. pip (the installer the layer build uses) picks, per architecture and with the Makefile's platform flags,
   the wheel it would install; the lock carries exactly those wheels' sha256 hashes (one per architecture,
   one in all for a pure-Python wheel), so `pip install --require-hashes --no-deps` can take nothing else.
This file is not part of any layer.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEPS_REQ = HERE / "requirements.txt"
DEPS_LOCK = HERE / "requirements.lock"
SKLEARN_REQ = HERE.parent / "scikit-learn" / "requirements.txt"
SKLEARN_LOCK = HERE.parent / "scikit-learn" / "requirements.lock"
ARCHES = ("x86_64", "aarch64")
Pins = dict[str, tuple[str, list[str]]]  # {name: (version, sha256 hashes)}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+?)\s*\\?$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def uv_compile(uv: str, arch: str, *requirements: Path) -> Pins:
    """{name: (version, every sha256 PyPI lists for that version)} as uv resolves it for cp313 manylinux ARCH."""
    out = subprocess.run(
        [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--python-version",
            "3.13",
            "--python-platform",
            f"{arch}-manylinux_2_34",
            "--only-binary",
            ":all:",
            "--generate-hashes",
            "--no-header",
            "--no-annotate",
            *map(str, requirements),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins: Pins = {}
    name = ""
    for line in out.splitlines():
        line = line.strip()
        if match := PIN.match(line):
            name = canonical(match.group(1))
            pins[name] = (match.group(2), [])
        elif line.startswith("--hash=sha256:"):
            pins[name][1].append(line.split(":", 1)[1].rstrip(" \\"))
    return pins


def resolve(uv: str, *requirements: Path) -> Pins:
    per_arch = {arch: uv_compile(uv, arch, *requirements) for arch in ARCHES}
    versions = {arch: {n: v for n, (v, _) in pins.items()} for arch, pins in per_arch.items()}
    if versions["x86_64"] != versions["aarch64"]:
        sys.exit(f"[lock] FAILED: x86_64 and aarch64 resolve differently: {versions}")
    return per_arch["x86_64"]


def chosen_wheels(pins: Pins, arch: str, glibc_minors: list[str]) -> dict[str, tuple[str, str]]:
    """{name: (wheel file name, sha256)}: what the layer build's pip installs for cp313 manylinux ARCH."""
    platforms = [f"--platform=manylinux_2_{m}_{arch}" for m in glibc_minors] + [f"--platform=manylinux2014_{arch}"]
    with tempfile.TemporaryDirectory() as work:
        req = Path(work, "pins.txt")
        req.write_text(
            "".join(
                f"{n}=={v} " + " ".join(f"--hash=sha256:{h}" for h in hs) + "\n" for n, (v, hs) in sorted(pins.items())
            )
        )
        report = Path(work, "report.json")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--dry-run",
                "--ignore-installed",
                "--no-deps",
                "--require-hashes",
                "--target",
                str(Path(work, "target")),
                "--implementation",
                "cp",
                "--python-version",
                "3.13",
                "--abi",
                "cp313",
                *platforms,
                "--only-binary=:all:",
                "--report",
                str(report),
                "-r",
                str(req),
            ],
            check=True,
        )
        chosen = {}
        for item in json.loads(report.read_text())["install"]:
            name = canonical(item["metadata"]["name"])
            info = item["download_info"]
            digest = info["archive_info"]["hashes"]["sha256"]
            if digest not in pins[name][1]:
                sys.exit(f"[lock] FAILED: pip picked a {name} file that uv did not list: {info['url']}")
            chosen[name] = (info["url"].rsplit("/", 1)[-1], digest)
    if set(chosen) != set(pins):
        sys.exit(f"[lock] FAILED: pip would install {sorted(chosen)}, the lock holds {sorted(pins)}")
    return chosen


def write_lock(path: Path, pins: Pins, glibc_minors: list[str], what: str) -> None:
    wheels = {arch: chosen_wheels(pins, arch, glibc_minors) for arch in ARCHES}
    lines = [
        "# Generated by `make lock` (layers/dependencies/lock.py, uv + pip): do not edit, regenerate.",
        f"# {what}",
        "# Lambda python3.13 (cp313, manylinux up to glibc 2.34), one wheel hash per architecture (x86_64, aarch64).",
        "# Installed with: pip install --require-hashes --no-deps --only-binary=:all: (layers/dependencies/Makefile).",
    ]
    for name, (version, _) in sorted(pins.items()):
        files = sorted({wheels[arch][name] for arch in ARCHES})
        lines.append("#   " + ", ".join(f for f, _ in files))
        lines.append(f"{name}=={version} \\")
        lines.extend(f"    --hash=sha256:{h}" + (" \\" if i < len(files) - 1 else "") for i, (_, h) in enumerate(files))
    path.write_text("\n".join(lines) + "\n")
    print(f"[lock] {path.relative_to(HERE.parent.parent)}: {len(pins)} distributions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default="uv")
    parser.add_argument("--glibc-minors", required=True, help="the Makefile's GLIBC_MINORS, space-separated")
    args = parser.parse_args()
    minors = args.glibc_minors.split()
    deps = resolve(args.uv, DEPS_REQ)
    both = resolve(args.uv, DEPS_REQ, SKLEARN_REQ)
    clash = [f"{n} {deps[n][0]} there, {v} here" for n, (v, _) in both.items() if n in deps and deps[n][0] != v]
    if clash:
        sys.exit(
            "[lock] FAILED: the scikit-learn layer would need other versions of the dependencies layer: "
            + "; ".join(clash)
        )
    sklearn = {n: pin for n, pin in both.items() if n not in deps}
    write_lock(DEPS_LOCK, deps, minors, "The dependencies layer: the closure of layers/dependencies/requirements.txt.")
    write_lock(
        SKLEARN_LOCK,
        sklearn,
        minors,
        "The scikit-learn layer: the closure of both layers' requirements.txt resolved together, minus every "
        "distribution of layers/dependencies/requirements.lock.",
    )


if __name__ == "__main__":
    main()
