"""LoRA adapters on the embedded model: several loaded at once (peft), one chosen per request.

The base weights are loaded once; each adapter adds its small matrices beside them, and a
request runs with its adapter switched on (``set_adapter``) or with every adapter switched off
for the base model. An adapter is found by name under ``<cacheDir>/adapters/<name>`` (see
``completion.adapt.store``); it is reloaded when its weights change on disk (``loomline adapt``
trained it again). A name that cannot be served (no such directory, not an adapter, made for
another base model, failed to load) gets the base model and one message per name.
Only the model's worker thread calls in here.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loomline.completion.adapt.store import (
    adapter_dir,
    adapter_stamp,
    is_adapter_dir,
    other_base_model,
)

log = logging.getLogger(__name__)

MAX_LOADED = 8  # adapters kept beside the base weights (a rank-8 0.5B adapter: ~9 MB)
Stamp = tuple[int, int]


class AdapterSet:
    """The adapters of one base model. ``model`` is what to run: the base model until an
    adapter is loaded, then the peft model that wraps it (the same weights)."""

    def __init__(self, model: Any, model_id: str, cache_dir: str | None,
                 notify: Callable[[str], None]) -> None:
        self.model = model
        self._model_id = model_id
        self._cache_dir = cache_dir
        self._notify = notify
        self._loaded: OrderedDict[str, Stamp] = OrderedDict()  # name -> stamp, LRU last
        # peft's own names for them: a user's name may hold '.' (not allowed in module names)
        # or be part of "lora_" (peft then mixes up the weights while loading).
        self._internal: dict[str, str] = {}
        self._loads = 0
        self._told: set[tuple[str, str]] = set()  # (name, problem) the user heard of
        self._active: str | None = None

    @property
    def loaded(self) -> list[str]:
        return list(self._loaded)

    def select(self, name: str | None) -> str | None:
        """Switch to adapter ``name`` (None: the base model) for the next forward passes;
        returns a key naming what runs (``name@stamp``, None for the base), for caches that
        must not mix the two."""
        stamp = self._ready(name) if name else None
        if name is None or stamp is None:
            self._switch(None)
            return None
        self._switch(name)
        return f"{name}@{stamp[0]}:{stamp[1]}"

    def _switch(self, name: str | None) -> None:
        if name == self._active:
            return
        if name is None:
            self.model.base_model.disable_adapter_layers()
        else:
            if self._active is None:
                self.model.base_model.enable_adapter_layers()
            self.model.set_adapter(self._internal[name])
        self._active = name

    def _ready(self, name: str) -> Stamp | None:
        """The stamp of adapter ``name`` loaded and current; None when it cannot be served."""
        try:
            directory = adapter_dir(name, self._cache_dir)
        except ValueError:
            self._tell(name, "invalid", f"LoRA adapter name '{name}' is invalid (letters, "
                       "digits, '.', '_', '-'); using the base model")
            return None
        stamp = adapter_stamp(directory)
        if stamp is None or not is_adapter_dir(directory):
            self._tell(name, "missing", f"LoRA adapter '{name}' not found in {directory} "
                       "(train one with `loomline adapt`); using the base model")
            return None
        if self._loaded.get(name) == stamp:
            self._loaded.move_to_end(name)
            return stamp
        if base := other_base_model(directory, self._model_id):
            self._tell(name, f"base:{base}", f"LoRA adapter '{name}' was trained for {base}, "
                       f"not {self._model_id}; using the base model")
            return None
        try:
            self._load(name, directory)
        except Exception as error:
            log.warning("loading LoRA adapter %s failed", name, exc_info=True)
            self._tell(name, f"failed:{stamp}", f"LoRA adapter '{name}' could not be loaded "
                       f"({error}); using the base model")
            return None
        self._loaded[name] = stamp
        log.info("LoRA adapter '%s' loaded from %s", name, directory)
        return stamp

    def _load(self, name: str, directory: Path) -> None:
        from peft import PeftModel

        if name in self._loaded:  # retrained: the old weights go
            self._drop(name)
        while len(self._loaded) >= MAX_LOADED:
            self._drop(next(iter(self._loaded)))
        self._loads += 1
        internal = f"adapter_{self._loads}"
        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(directory), adapter_name=internal)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(directory),
                                                   adapter_name=internal)
            self._active = name  # from_pretrained leaves it switched on
        self._internal[name] = internal
        self.model.eval()

    def _drop(self, name: str) -> None:
        if self._active == name:
            self._switch(None)
        with warnings.catch_warnings():  # "was active, now deleted": switched off above
            warnings.simplefilter("ignore", UserWarning)
            self.model.delete_adapter(self._internal.pop(name))
        del self._loaded[name]

    def _tell(self, name: str, problem: str, message: str) -> None:
        if (name, problem) in self._told:
            return
        self._told.add((name, problem))
        log.warning("%s", message)
        self._notify(message)
