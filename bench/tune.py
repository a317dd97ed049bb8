"""`make tune`: which MemorySize for the inference function - latency, memory and Lambda's price, measured per size.

For each MemorySize the built function runs in fresh Lambda-sized containers (bench/emulated_lambda.py:
`--cpus` MemorySize / 1769, `--memory` MemorySize), invoked through the runtime interface emulator, with Redis
on a docker network:

  cold    time to the first answer of a fresh container: runtime start, imports, model load and one MISS, at the
          client; --cold-runs containers per size (median shown; no more once one takes over 20 s: that size is
          out), the last one stays for the warm run
  warm    after a warm-up round, rounds of 4 MISS (POST /predict, a new text each), 4 HIT (POST /predict, one
          text again and again: answered by the instance's in-process tier, not by Redis) and 1 batch
          (POST /predict/batch, 64 new texts); client-side ms per invoke and the RIE's REPORT Duration; until
          --rounds rounds or --budget seconds, whichever comes first (small sizes are slow)
  memory  the Python runtime's peak RSS (VmHWM) and the container cgroup's peak, after the warm run

Cost per million requests (bench/costs.py, prices in bench/prices.json): the warm MISS p50 of the RIE's REPORT
Duration (what Lambda bills: the runtime's turn, not the HTTP round trip) rounded up to 1 ms, times GB times the
GB-second price, plus the request price; for x86_64 and arm64 (and HIT). The arm64 column assumes the x86_64
durations: this machine cannot measure arm64. "mean": from the mean of every MISS's billed ms instead - a bill
is a sum, and below one vCPU the throttled tail makes the mean several times the p50.

Recommendations:
  eligible  every cold run answered 200 within Lambda's 10 s init limit; every warm answer 200
  latency   the smallest eligible size whose warm MISS p99 is within 10 % (at least 2 ms) of the best one
  cost      the cheapest eligible size for x86_64 by the mean billed MISS duration (ties: the lower MISS p99)
  template  template.yaml's default MemorySize should be the latency pick (a real-time API: the sizes' bills
            differ by cents per million requests, printed), at least the parameter's MinValue

Prints the table (and writes it as Markdown), bench/results/tune.json and bench/results/tune.png. Everything
started here (containers, network) is removed on exit, also on error and Ctrl-C.

Usage: python -m bench.tune [--sizes 128,256,512,1024,1769,3008] [--cold-runs N] [--rounds N] [--budget S]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.costs import (
    Prices,
    cost_per_million,
    cost_per_million_billed,
    init_cost_per_million,
    load_prices,
    mean_billed_ms,
)
from bench.emulated_lambda import (
    Function,
    Memory,
    cpus,
    images,
    lambda_environment,
    merged_opt,
    template_function,
    template_parameters,
)
from devsupport import ROOT
from devsupport.docker import docker_problem, image_exists, remove_network, start_redis
from devsupport.events import rest_event

SIZES = (128, 256, 512, 1024, 1769, 3008)
KINDS = ("MISS", "HIT", "batch")
ROUND = ("MISS", "HIT") * 4 + ("batch",)  # interleaved: drift on the machine hits every kind alike
BATCH_TEXTS = 64
INIT_LIMIT_MS = 10_000  # Lambda's init phase limit (on-demand): beyond it the init is retried inside the invoke
# p99 of a few hundred samples on a shared 2-core machine moves by a few ms between runs: 10 % alone would
# split sizes that differ by noise only
LATENCY_SLACK, LATENCY_SLACK_MS = 0.10, 2.0
COLD_TIMEOUT_S = 180.0
COLD_GIVE_UP_MS = 2 * INIT_LIMIT_MS  # one cold run this slow rules the size out: no more fresh containers for it
COLD_SHARE = 0.01  # for the price of billed cold starts: AWS reports INITs in under 1 % of invocations typically
RESULTS = ROOT / "bench" / "results"
WORDS = "battery screen price support delivery update camera app love hate slow fast broken great".split()


def log(message: str) -> None:
    print(f"[tune] {message}", flush=True)


def percentile(samples: list[float], q: float) -> float:
    """Nearest rank: the smallest sample with at least q of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


class Workload:
    """The events: a new text for each MISS and batch item, one repeated text for HIT."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.count = 0
        self.hit_text = f"the same review every time {nonce}: great camera, slow delivery"

    def _text(self) -> str:
        self.count += 1
        i = self.count
        return f"{WORDS[i % 14]} {WORDS[(i * 7) % 14]} review {self.nonce} {i}, {WORDS[(i * 3) % 14]} overall"

    def event(self, kind: str) -> dict[str, Any]:
        body: dict[str, Any]
        if kind == "batch":
            path, body = "/predict/batch", {"texts": [self._text() for _ in range(BATCH_TEXTS)]}
        else:
            path, body = "/predict", {"text": self.hit_text if kind == "HIT" else self._text()}
        headers = {"Content-Type": "application/json"}
        return rest_event("POST", path, json.dumps(body), headers=headers, request_id=f"tune-{self.nonce}-{self.count}")


@dataclass
class SizeResult:
    memory_mb: int
    cold_ms: list[float] = field(default_factory=list)
    client_ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    billed_ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    cache: dict[str, Counter[str]] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})
    memory: Memory | None = None
    rie_init_ms: float | None = None  # the RIE's "Init Duration" of the cold invoke (kept to show it is wrong)
    rie_max_memory_mb: int | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def eligible(self) -> bool:
        answered = bool(self.cold_ms) and bool(self.client_ms["MISS"]) and not self.problems
        return answered and max(self.cold_ms) <= INIT_LIMIT_MS

    def p(self, kind: str, q: float, source: str = "client") -> float | None:
        samples = (self.client_ms if source == "client" else self.billed_ms)[kind]
        return (statistics.median(samples) if q == 0.5 else percentile(samples, q)) if samples else None

    def duration_ms(self, kind: str) -> float | None:
        """The representative billed duration: REPORT Duration p50, else (no REPORT lines) the client's p50."""
        return self.p(kind, 0.5, "billed") or self.p(kind, 0.5)

    def bypass_share(self, kind: str) -> float:
        answers = sum(self.cache[kind].values())
        return self.cache[kind]["BYPASS"] / answers if answers else 0.0


@dataclass
class Setup:
    image: str
    network: str
    environment: dict[str, str]
    handler: str
    tag: str
    args: argparse.Namespace


def record(result: SizeResult, kind: str, ms: float, answer: dict[str, Any]) -> None:
    status = answer.get("statusCode")
    if status != 200:
        result.problems.append(f"{kind}: {status} {str(answer)[:200]}")
        return
    result.client_ms[kind].append(ms)
    result.cache[kind][str((answer.get("headers") or {}).get("x-cache"))] += 1


def cold_runs(memory_mb: int, setup: Setup, work: Workload, result: SizeResult) -> Function | None:
    """--cold-runs fresh containers (fewer once one passes COLD_GIVE_UP_MS), each timed to its first answer; the
    last one is returned, still running."""
    environment = {**setup.environment, **lambda_environment(setup.handler, memory_mb)}
    for run in range(setup.args.cold_runs):
        function = Function(f"{setup.tag}-{memory_mb}-{run}")
        try:
            function.start(setup.image, setup.network, memory_mb, environment, setup.tag)
            ms, answer = function.first_invoke(work.event("MISS"), COLD_TIMEOUT_S)
        except (OSError, RuntimeError, ValueError) as error:  # a timeout, a dead container, an unreadable answer
            result.problems.append(f"cold run {run}: {type(error).__name__}: {error}"[:300])
            function.remove()
            return None
        if answer.get("statusCode") != 200:
            result.problems.append(f"cold run {run}: {str(answer)[:300]}")
            function.remove()
            return None
        result.cold_ms.append(ms)
        if run == setup.args.cold_runs - 1 or ms > COLD_GIVE_UP_MS:
            return function
        function.remove()
    return None


def send(function: Function, work: Workload, kind: str, result: SizeResult) -> tuple[float, dict[str, Any]] | None:
    try:
        return function.invoke(work.event(kind))
    except (OSError, ValueError) as error:  # a timeout, a dead container, an unreadable answer
        result.problems.append(f"warm {kind}: {type(error).__name__}: {error}"[:300])
        return None


def warm_run(function: Function, setup: Setup, work: Workload, result: SizeResult) -> list[str | None]:
    """Warm-up, then measured rounds. Returns every invoke's kind in order (None: not measured) for REPORT lines."""
    sent: list[str | None] = [None]  # the cold invoke
    for kind in ROUND:  # unmeasured: the HIT text gets cached, the batch path is used once
        if send(function, work, kind, result) is None:
            return sent
        sent.append(None)
    started = time.monotonic()
    for kind in ROUND * setup.args.rounds:
        if time.monotonic() - started > setup.args.budget or (answered := send(function, work, kind, result)) is None:
            break
        sent.append(kind)
        record(result, kind, *answered)
    return sent


def durations(function: Function, sent: list[str | None], result: SizeResult) -> None:
    """The RIE's REPORT Duration of each measured invoke, matched by order (one REPORT line per invoke)."""
    reports = function.reports()
    if reports:
        result.rie_init_ms, result.rie_max_memory_mb = reports[0].init_ms, reports[0].max_memory_mb
    if len(reports) != len(sent):
        result.problems.append(f"{len(reports)} REPORT lines for {len(sent)} invokes: durations not matched")
        return
    for kind, report in zip(sent, reports, strict=True):
        if kind is not None:
            result.billed_ms[kind].append(report.duration_ms)


def measure_size(memory_mb: int, setup: Setup) -> SizeResult:
    started = time.monotonic()
    result = SizeResult(memory_mb)
    work = Workload(f"{memory_mb}-{uuid.uuid4().hex[:8]}")
    function = cold_runs(memory_mb, setup, work, result)
    if function is not None:
        try:
            sent = warm_run(function, setup, work, result)
            result.memory = function.memory()
            durations(function, sent, result)
        finally:
            function.remove()
    result.seconds = time.monotonic() - started
    return result


# ---- cost, recommendation, output ----------------------------------------------------------------------------


def costs(result: SizeResult, prices: Prices, kind: str = "MISS") -> dict[str, float | None]:
    duration = result.duration_ms(kind)
    return {
        arch: None if duration is None else cost_per_million(duration, result.memory_mb, prices, arch)
        for arch in prices.architectures
    }


def mean_cost(result: SizeResult, prices: Prices) -> float | None:
    """x86_64 cost per million from the mean of the MISS billed durations: the tail counted, as in a bill."""
    samples = result.billed_ms["MISS"]
    return cost_per_million_billed(mean_billed_ms(samples), result.memory_mb, prices, "x86_64") if samples else None


def cold_cost(result: SizeResult, prices: Prices) -> float | None:
    """x86_64 USD per million requests that billed inits add at COLD_SHARE (the cold first answer as the init)."""
    if not result.cold_ms:
        return None
    return init_cost_per_million(statistics.median(result.cold_ms), result.memory_mb, prices, "x86_64", COLD_SHARE)


@dataclass(frozen=True)
class Recommendation:
    latency: int | None
    cost: int | None
    template: int | None
    rules: tuple[str, ...]


def recommend(results: list[SizeResult], prices: Prices, min_value: int) -> Recommendation:
    eligible = [r for r in results if r.eligible]
    rules = (
        f"eligible: every cold run answered within Lambda's {INIT_LIMIT_MS // 1000} s init limit, every answer 200",
        f"latency: the smallest eligible size whose warm MISS p99 is within {LATENCY_SLACK:.0%} "
        f"(at least {LATENCY_SLACK_MS:g} ms) of the best",
        "cost: the cheapest eligible size per million requests on x86_64 from the mean billed MISS duration (a bill"
        " is a sum: the throttled tail counts); ties: lower p99",
        f"template default: the latency pick (a real-time API), at least the parameter's MinValue ({min_value} MB)",
    )
    if not eligible:
        return Recommendation(None, None, None, rules)
    p99 = {r.memory_mb: r.p("MISS", 0.99) or math.inf for r in eligible}
    best = min(p99.values())
    latency = min(mb for mb, value in p99.items() if value <= best + max(best * LATENCY_SLACK, LATENCY_SLACK_MS))
    x86 = {r.memory_mb: mean_cost(r, prices) or math.inf for r in eligible}
    cost = min(x86, key=lambda mb: (round(x86[mb], 6), p99[mb]))
    return Recommendation(latency, cost, max(latency, min_value), rules)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _pair(result: SizeResult, kind: str) -> str:
    return f"{_ms(result.p(kind, 0.5))} / {_ms(result.p(kind, 0.99))}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _cache(result: SizeResult) -> str:
    if not result.client_ms["MISS"]:
        return "; ".join(result.problems[:1]) or "no answer"
    shares = [f"{kind} {share:.0%} BYPASS" for kind in KINDS if (share := result.bypass_share(kind)) > 0]
    return ", ".join(shares) or "ok"


HEADER = (
    "MemorySize MB",
    "vCPU",
    "cold first answer s",
    "MISS p50 / p99 ms",
    "HIT p50 / p99 ms",
    "batch64 p50 / p99 ms",
    "peak RSS MB",
    "cgroup peak MB",
    "billed MISS ms",
    "$/M x86_64",
    "$/M arm64",
    "$/M x86_64 HIT",
    "$/M x86_64 mean",
    "cache",
)


def rows(results: list[SizeResult], prices: Prices) -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = []
    for r in results:
        miss, hit = costs(r, prices), costs(r, prices, "HIT")
        cold = f"{statistics.median(r.cold_ms) / 1000:.2f}" if r.cold_ms else "failed"
        memory = r.memory or Memory(None, None, False)
        billed = "-" if (duration := r.duration_ms("MISS")) is None else str(math.ceil(duration))
        table.append((
            str(r.memory_mb), f"{cpus(r.memory_mb):.2f}", cold, _pair(r, "MISS"), _pair(r, "HIT"), _pair(r, "batch"),
            _ms(memory.runtime_peak_rss_mb), _ms(memory.cgroup_peak_mb), billed,
            _usd(miss["x86_64"]), _usd(miss["arm64"]), _usd(hit["x86_64"]), _usd(mean_cost(r, prices)), _cache(r),
        ))  # fmt: skip
    return table


def text_table(table: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *table]) for i in range(len(HEADER))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in [HEADER, *table]]
    return "\n".join(lines)


def markdown_table(table: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---:|" * (len(HEADER) - 1) + "---|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in table)])


def plot(results: list[SizeResult], prices: Prices, pick: Recommendation, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in results if r.client_ms["MISS"]]
    sizes = [r.memory_mb for r in done]
    fig, (latency, cold, cost) = plt.subplots(1, 3, figsize=(15, 4.6))
    for kind, colour in zip(KINDS, ("tab:red", "tab:green", "tab:blue"), strict=True):
        latency.plot(sizes, [r.p(kind, 0.5) for r in done], "o-", color=colour, label=f"{kind} p50")
        latency.plot(sizes, [r.p(kind, 0.99) for r in done], "x--", color=colour, label=f"{kind} p99")
    latency.set(yscale="log", ylabel="ms at the client (log)", title="Warm latency")
    latency.legend(fontsize=7)
    started = [r for r in results if r.cold_ms]
    cold.plot([r.memory_mb for r in started], [statistics.median(r.cold_ms) / 1000 for r in started], "o-")
    cold.axhline(INIT_LIMIT_MS / 1000, color="grey", linestyle=":", label="Lambda init limit (10 s)")
    cold.set(yscale="log", ylabel="s (log)", title="Cold start: first answer of a fresh container")
    cold.legend(fontsize=7)
    for arch, style in zip(prices.architectures, ("o-", "s--"), strict=False):
        cost.plot(sizes, [costs(r, prices)[arch] for r in done], style, label=f"{arch} (MISS p50)")
    cost.plot(sizes, [mean_cost(r, prices) for r in done], "^:", label="x86_64 (mean billed MISS)")
    cost.set(ylabel="USD per million requests", title=f"Cost ({prices.region}, prices of {prices.taken})")
    cost.legend(fontsize=7)
    for axis in (latency, cold, cost):
        axis.set_xscale("log")
        axis.set_xticks(list(SIZES), [str(s) for s in SIZES], fontsize=7)
        axis.minorticks_off()
        axis.set_xlabel("MemorySize MB (vCPU = MB / 1769)")
        for mb, colour in ((pick.latency, "tab:purple"), (pick.cost, "tab:olive")):
            if mb is not None:
                axis.axvline(mb, color=colour, alpha=0.4)
    fig.suptitle("Emulated Lambda sizes (docker --cpus/--memory); purple: latency pick, olive: cost pick")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(results: list[SizeResult], prices: Prices, args: argparse.Namespace, seconds: float) -> Recommendation:
    parameter = template_parameters()["MemorySize"]
    pick = recommend(results, prices, int(parameter.get("MinValue", 128)))
    table = rows(results, prices)
    print("\n" + text_table(table) + "\n")
    print(f"cold: median of {args.cold_runs} fresh containers; warm: client-side p50 / p99; HIT = in-process tier;")
    print("billed MISS ms: p50 of the RIE's REPORT Duration; $/M: per million requests, the MISS p50 billed")
    print("(mean: the mean of every MISS's billed ms instead, the tail counted as a bill counts it),")
    print(f"prices of {prices.taken} ({prices.region}, bench/prices.json); arm64 assumes the x86_64 durations.\n")
    for rule in pick.rules:
        print(f"rule  {rule}")
    print(f"\nrecommended MemorySize for latency: {pick.latency} MB; for cost: {pick.cost} MB")
    print(premium(results, prices, pick))
    default = int(parameter["Default"])
    verdict = "matches" if default == pick.template else f"differs: set it to {pick.template}"
    print(f"template.yaml default MemorySize: {default} MB ({verdict})")
    added = ", ".join(f"{r.memory_mb} MB {_usd(cold_cost(r, prices))}" for r in results)
    print(f"billed cold starts at {COLD_SHARE:.0%} of requests add (USD per million, x86_64): {added}")
    print(rie_note(results))
    for r in results:
        for problem in r.problems[:3]:
            print(f"PROBLEM {r.memory_mb} MB: {problem}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune.md").write_text(markdown_table(table) + "\n")
    plot(results, prices, pick, RESULTS / "tune.png")
    (RESULTS / "tune.json").write_text(json.dumps(summary(results, prices, pick, seconds), indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}/tune.json, tune.md, tune.png; whole run {seconds:.0f} s")
    return pick


def premium(results: list[SizeResult], prices: Prices, pick: Recommendation) -> str:
    """What the latency pick costs over the cost pick, per million requests on x86_64."""
    by_size = {r.memory_mb: mean_cost(r, prices) for r in results}
    latency, cost = by_size.get(pick.latency or 0), by_size.get(pick.cost or 0)
    if latency is None or cost is None:
        return "no eligible size: no recommendation"
    return f"the latency pick costs {latency - cost:+.4f} USD per million requests more (x86_64, mean billed)"


def rie_note(results: list[SizeResult]) -> str:
    """What the RIE's own REPORT line said about the cold invokes, beside what was measured (why it is not used)."""
    said = ", ".join(
        f"{r.memory_mb} MB: Init Duration {r.rie_init_ms} ms vs {r.cold_ms[-1]:.0f} ms to the first answer, "
        f"Max Memory Used {r.rie_max_memory_mb} MB vs peak RSS {_ms(r.memory.runtime_peak_rss_mb)} MB"
        for r in results
        if r.rie_max_memory_mb is not None and r.memory is not None and r.cold_ms
    )
    return f"RIE REPORT (not used for init or memory): {said or 'none'}"


def summary(results: list[SizeResult], prices: Prices, pick: Recommendation, seconds: float) -> dict[str, Any]:
    sizes = []
    for r in results:
        sizes.append({
            "memory_mb": r.memory_mb, "vcpus": cpus(r.memory_mb), "cold_first_answer_ms": r.cold_ms,
            "client_ms": {k: {"p50": r.p(k, 0.5), "p99": r.p(k, 0.99), "n": len(r.client_ms[k])} for k in KINDS},
            "report_duration_ms": {k: {"p50": r.p(k, 0.5, "billed"), "p99": r.p(k, 0.99, "billed")} for k in KINDS},
            "cache": {k: dict(r.cache[k]) for k in KINDS}, "memory": asdict(r.memory) if r.memory else None,
            "rie_reported": {"init_duration_ms": r.rie_init_ms, "max_memory_used_mb": r.rie_max_memory_mb},
            "cost_per_million_usd": {"MISS": costs(r, prices), "HIT": costs(r, prices, "HIT"),
                                     "MISS_mean_billed_x86_64": mean_cost(r, prices),
                                     f"cold_starts_at_{COLD_SHARE:g}_x86_64": cold_cost(r, prices)},
            "eligible": r.eligible, "problems": r.problems, "seconds": r.seconds,
        })  # fmt: skip
    picks = {"latency_mb": pick.latency, "cost_mb": pick.cost, "template_mb": pick.template, "rules": pick.rules}
    prices_used = {"taken": prices.taken, "region": prices.region, "source": prices.source}
    return {"sizes": sizes, "recommendation": picks, "prices": prices_used, "seconds": seconds}


def run(args: argparse.Namespace) -> list[SizeResult]:
    image, redis_image = images()
    missing = [name for name in (image, redis_image) if not image_exists(name)]
    if missing:
        sys.exit(f"image(s) not here: {', '.join(missing)} (offline: `make standin-image`)")
    handler, environment = template_function()
    tag = f"sentiment-tune-{os.getpid()}"
    try:
        merged_opt()
        url = start_redis(tag, f"{tag}-redis", redis_image)
        environment["REDIS_URL"] = url
        setup = Setup(image, tag, environment, handler, tag, args)
        log(f"{image}, Redis {redis_image} on network {tag}; sizes {', '.join(map(str, args.sizes))} MB")
        log(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the host's other work slows small sizes)"
        )
        results = []
        for memory_mb in args.sizes:
            results.append(result := measure_size(memory_mb, setup))
            miss = result.p("MISS", 0.5)
            cold = f"{statistics.median(result.cold_ms) / 1000:.2f} s" if result.cold_ms else "failed"
            load = os.getloadavg()[0]
            log(f"{memory_mb:>5} MB: cold {cold}, MISS p50 {_ms(miss)} ms, {result.seconds:.0f} s, load {load:.1f}")
        return results
    finally:
        remove_network(tag)  # the function containers and Redis with it


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=list(SIZES))
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh containers per size (default 3)")
    parser.add_argument("--rounds", type=int, default=150, help="measured rounds of 4 MISS, 4 HIT, 1 batch")
    parser.add_argument("--budget", type=float, default=45, help="seconds of warm measuring per size at most")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    problem = docker_problem()
    if problem:
        print(f"skipped: {problem} (start it with local/start-docker.sh or source .ci/docker-up.sh)")
        return 0
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a plain kill cleans up like Ctrl-C
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
    started = time.monotonic()
    try:
        results = run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was removed", file=sys.stderr)
        return 130
    except RuntimeError as error:
        sys.exit(str(error))
    report(results, load_prices(), args, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
