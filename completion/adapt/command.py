"""``loomline adapt [FOLDER]``: train a LoRA adapter for the configured model on a workspace.

Steps: cut FIM samples from the folder (``samples``), measure the base model on the held-out
files, train (``training``: checkpoints every N steps, ``--resume`` goes on from the last),
measure again, write the PEFT adapter and ``manifest.json`` to ``--output`` (default
``<cacheDir>/adapters/<name>``, the directory ``engine.adapters`` names resolve to).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loomline.completion.adapt.store import Manifest, adapter_dir, adapter_name_for
from loomline.completion.adapt.training import ResumeMismatch, TrainingStopped, TrainOptions
from loomline.completion.settings import Settings, parse_settings
from loomline.completion.templates import template_for

if TYPE_CHECKING:  # (loaded by ``cut``: building the CLI's parser stays light)
    from loomline.completion.adapt.samples import SampleSet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainOptions()
    parser.add_argument("folder", nargs="?", default=".", help="the workspace folder (default: .)")
    parser.add_argument("--name", help="adapter name (default: the folder's name); engine.adapters "
                        "maps folders to names")
    parser.add_argument("--output", help="adapter directory (default: <cacheDir>/adapters/<name>)")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps")
    parser.add_argument("--rank", type=int, default=defaults.rank, help="LoRA rank")
    parser.add_argument("--alpha", type=int, help="LoRA alpha (default: twice the rank)")
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, help="learning rate")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="samples per step")
    parser.add_argument("--max-seq-len", type=int, default=defaults.max_seq_len,
                        help="tokens of prompt + answer per sample")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS",
                        help="stop training after this long (evaluation not counted)")
    parser.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every,
                        metavar="STEPS")
    parser.add_argument("--resume", action="store_true",
                        help="go on from the checkpoint in the output directory")
    parser.add_argument("--max-samples", type=int, default=2000, help="training samples at most")
    parser.add_argument("--heldout-samples", type=int, default=24,
                        help="held-out samples measured before and after (0: none)")
    parser.add_argument("--heldout-share", type=float, default=0.1,
                        help="share of the files held out")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default=defaults.device,
                        help="auto (a GPU when there is one), cpu, cuda, cuda:N")
    parser.add_argument("--model-path", help="a local model directory (overrides model.path)")
    parser.add_argument("--settings", help="settings as JSON (same keys as the editor's)")


def _fail(message: str, status: int = 2) -> int:
    print(f"loomline adapt: {message}", file=sys.stderr)
    return status


def _options(args: argparse.Namespace) -> TrainOptions | str:
    """The training options, or what is wrong with them."""
    checks = [
        (args.steps >= 1, "--steps must be at least 1"),
        (args.rank >= 1, "--rank must be at least 1"),
        (args.lr > 0, "--lr must be positive"),
        (args.batch_size >= 1, "--batch-size must be at least 1"),
        (args.max_seq_len >= 64, "--max-seq-len must be at least 64"),
        (args.checkpoint_every >= 1, "--checkpoint-every must be at least 1"),
        (args.time_budget is None or args.time_budget > 0, "--time-budget must be positive"),
        (0 <= args.heldout_share < 1, "--heldout-share must be in [0, 1)"),
        (args.max_samples >= 1 and args.heldout_samples >= 0, "sample counts must be positive"),
    ]
    for ok, problem in checks:
        if not ok:
            return problem
    return TrainOptions(
        steps=args.steps, rank=args.rank, alpha=args.alpha or 2 * args.rank,
        learning_rate=args.lr, batch_size=args.batch_size, max_seq_len=args.max_seq_len,
        time_budget_s=args.time_budget, checkpoint_every=args.checkpoint_every, seed=args.seed,
        device=args.device,
    )


def _settings(args: argparse.Namespace) -> Settings | str:
    try:
        raw: Any = json.loads(args.settings) if args.settings else {}
    except json.JSONDecodeError as error:
        return f"--settings is not valid JSON: {error}"
    if not isinstance(raw, dict):
        return "--settings must be a JSON object"
    if args.model_path:
        raw.setdefault("model", {})["path"] = args.model_path
    settings, problems = parse_settings(raw)
    for problem in problems:
        print(f"loomline adapt: settings: {problem}", file=sys.stderr)
    return settings


def prompt_settings(settings: Settings, max_seq_len: int, middle_tokens: int) -> Settings:
    """``settings`` with a prompt budget whose prompts (context included) and answers fit in
    ``max_seq_len`` tokens (the prompt builder adds context on top of the cursor window)."""
    share = settings.context.budget_share
    budget = max(64, int((max_seq_len - middle_tokens) * (1 - share)))
    completion = settings.completion.model_copy(update={"prompt_tokens": budget})
    return settings.model_copy(update={"completion": completion})


def cut(folder: Path, settings: Settings, counter: Any, args: argparse.Namespace,
        middle_tokens: int) -> SampleSet:
    from tqdm import tqdm

    from loomline.completion.adapt.samples import SampleCutter

    bar = tqdm(desc="samples", unit="", file=sys.stderr, leave=False)

    def progress(done: int, total: int, what: str) -> None:
        if what != bar.desc:  # a new phase: its own count
            bar.reset(total=total)
            bar.set_description_str(what)
        bar.update(done - bar.n)  # (tqdm draws at most every 0.1 s)

    cutter = SampleCutter(folder, settings, counter, middle_tokens=middle_tokens)
    try:
        return cutter.cut(max_train=args.max_samples, max_heldout=args.heldout_samples,
                          heldout_share=args.heldout_share, seed=args.seed, progress=progress)
    finally:
        bar.close()


INTERRUPTED = 130  # the shell's status for a process stopped by SIGINT


def run(args: argparse.Namespace) -> int:
    """The whole command; the exit status (0 done, 1 nothing to train on, 2 bad input,
    130 stopped by Ctrl-C: during training the last finished step's checkpoint is saved)."""
    try:
        return _run(args)
    except TrainingStopped as stop:
        return _fail(f"stopped at step {stop.step}/{stop.steps}; checkpoint saved; resume with "
                     "--resume", INTERRUPTED)
    except KeyboardInterrupt:
        return _fail("stopped (the last checkpoint, if any, is kept)", INTERRUPTED)


def _run(args: argparse.Namespace) -> int:
    folder = Path(args.folder).expanduser().resolve()
    if not folder.is_dir():
        return _fail(f"{args.folder} is not a folder")
    options = _options(args)
    if isinstance(options, str):
        return _fail(options)
    settings = _settings(args)
    if isinstance(settings, str):
        return _fail(settings)
    name = args.name or adapter_name_for(folder)
    try:
        output = (Path(args.output).expanduser() if args.output
                  else adapter_dir(name, settings.model.cache_dir))
    except ValueError as error:
        return _fail(str(error))
    from loomline.completion.model_store import ModelNotFound, ModelStore
    from loomline.completion.tokens import load_tokenizer

    model = settings.model
    try:
        model_dir = ModelStore(model.cache_dir).resolve(
            model.id, model.path, progress=lambda m, _f: print(f"loomline adapt: {m}",
                                                               file=sys.stderr))
    except ModelNotFound as error:
        return _fail(str(error), 1)
    middle_tokens = min(96, options.max_seq_len // 4)
    samples = cut(folder, prompt_settings(settings, options.max_seq_len, middle_tokens),
                  load_tokenizer(model_dir), args, middle_tokens)
    print(f"loomline adapt: {len(samples.train)} training and {len(samples.heldout)} held-out "
          f"samples from {samples.files} files ({len(samples.heldout_files)} held out; "
          f"{samples.secret_answers} answers with secrets left out)", file=sys.stderr)
    if not samples.train:
        return _fail(f"no statements to learn from in {folder} (files of known languages, "
                     "not ignored or excluded)", 1)
    try:
        return _train(folder, name, output, model_dir, settings, options, samples,
                      args.resume)
    except ResumeMismatch as error:
        return _fail(str(error))


def _train(folder: Path, name: str, output: Path, model_dir: Path, settings: Settings,
           options: TrainOptions, samples: SampleSet, resume: bool) -> int:
    from loomline.completion.adapt.session import AdaptSession
    from loomline.completion.engines.threads import ThreadPolicy

    template = template_for(settings.model.id, settings.model.template)
    started = time.perf_counter()
    session = AdaptSession(model_dir, options, samples, template.stop,
                           ThreadPolicy(settings.model.threads))
    session.name_base_model(settings.model.id)
    print(f"loomline adapt: training on {session.device} ({len(session.train)} samples fit "
          f"--max-seq-len {options.max_seq_len})", file=sys.stderr)
    result, metrics = session.run(output, resume)
    session.model.save_pretrained(output)
    manifest = Manifest(
        base_model=settings.model.id,
        base_model_dir=str(model_dir),
        workspace=str(folder),
        data_hash=samples.data_hash(),
        train_samples=len(session.train),
        heldout_samples=len(session.heldout),
        heldout_files=samples.heldout_files,
        settings=options.as_dict(),
        metrics=metrics,
        training={
            "steps_done": result.steps_done,
            "stopped_by": result.stopped_by,
            "resumed_from": result.resumed_from,
            "train_seconds": round(result.seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "device": session.device,
            "peak_memory_mb": round(peak_memory_mb(session.device)),
            "last_loss": round(result.losses[-1], 4) if result.losses else None,
        },
    )
    manifest.write(output)
    _report(name, folder, output, manifest)
    return 0


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process: the GPU's allocator on CUDA, else the resident set."""
    if device.startswith("cuda"):
        import torch

        return float(torch.cuda.max_memory_allocated(device)) / 2**20
    import resource  # Unix only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(name: str, folder: Path, output: Path, manifest: Manifest) -> None:
    for when in ("before", "after"):
        m = manifest.metrics.get(when)
        if m:
            print(f"loomline adapt: held-out {when}: loss {m['heldout_loss']:.3f}, "
                  f"exact match {100 * m['exact_match']:.1f}%", file=sys.stderr)
    t = manifest.training
    print(f"loomline adapt: {t['steps_done']} steps ({t['stopped_by']}) in "
          f"{t['train_seconds']} s, peak memory {t['peak_memory_mb']} MB", file=sys.stderr)
    # JSON-quoted: a folder path may hold backslashes or quotes.
    setting = json.dumps({"engine": {"adapters": {str(folder): name}}})
    print(f"loomline adapt: use it with the settings {setting}", file=sys.stderr)
    print(output)
