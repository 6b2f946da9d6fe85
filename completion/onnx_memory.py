"""How much memory building an ONNX model takes, and saying so before and after a failure.

The model builder holds the torch model and an fp32 copy of its graph at the same time, so its
peak is several times the weights: the int4 build took 13.3 GB of RSS for the 1.5B (3.55 GB of
bf16 safetensors, 3.75x) and 5.3 GB for the 0.5B (1.26 GB, 4.2x); the 0.5B's int8 build 5.7 GB
(4.55x). A build that runs out of memory is killed by the kernel (SIGKILL) without a word of
its own, so the user is told beforehand when the machine has less free memory than that, and
afterwards what the silent kill most likely meant.
"""

from __future__ import annotations

from pathlib import Path

# Peak RSS of the builder per byte of bf16 safetensors (measured: see the module docstring).
BUILD_MEMORY_PER_SOURCE_BYTE = 4.6
# The last line of a build's output when the builder was killed by SIGKILL.
KILLED = "(killed by SIGKILL, most likely for lack of memory)"


def build_memory_bytes(source: Path) -> int:
    """About the builder's peak memory for the safetensors model in ``source``, in bytes."""
    weights = sum(p.stat().st_size for p in source.glob("*.safetensors"))
    return int(weights * BUILD_MEMORY_PER_SOURCE_BYTE)


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), in bytes; None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_shortfall(source: Path, available: int | None = None) -> str | None:
    """A warning when less memory is free (``available`` bytes, default: the machine's) than
    building ``source`` needs; None when enough is free or the amount is unknown."""
    free = available_memory_bytes() if available is None else available
    need = build_memory_bytes(source)
    if free is None or free >= need:
        return None
    return (
        f"building the ONNX model of {source.name} needs about {need / 1e9:.1f} GB of memory "
        f"and {free / 1e9:.1f} GB is free: close other programs, or the build may be killed"
    )


def killed_hint(source: Path) -> str:
    """What to tell the user after the builder was killed by SIGKILL."""
    return (
        f"\nBuilding the ONNX model of {source.name} needs about "
        f"{build_memory_bytes(source) / 1e9:.1f} GB of free memory; close other programs and "
        "run `loomline model pull` again."
    )
