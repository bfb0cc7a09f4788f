"""LoRA adapters: the shard's adapter cache, loaded from its adapter directory under the VRAM budget."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from observatory.runtime.engine import AppliedAdapter, LlamaEngine
from observatory.runtime.errors import conflict, input_error, not_found
from observatory.runtime.schemas import ADAPTER_NAME_PATTERN
from observatory.runtime.vram import VRAMLicenseManager

# The API validates names already; checked again here because a name becomes a file path.
ADAPTER_NAME = re.compile(ADAPTER_NAME_PATTERN)


@dataclass(frozen=True)
class LoadedAdapter:
    """An adapter held in the cache with its default scale and reserved size."""

    name: str
    path: Path
    size_bytes: int
    scale: float
    handle: object


@dataclass(frozen=True)
class Resolution:
    """The adapters one request applies, and how many came from the cache without loading."""

    applied: tuple[AppliedAdapter, ...]
    cache_hits: int


class AdapterCache:
    """Loaded adapters by name; loading reserves the adapter's size against the VRAM budget."""

    def __init__(self, engine: LlamaEngine, vram: VRAMLicenseManager, directory: Path) -> None:
        self._engine = engine
        self._vram = vram
        self._directory = directory
        self._loaded: dict[str, LoadedAdapter] = {}
        # Held across a whole generation (see using()): what probes and listings read is a copy kept
        # beside it, so that they never wait for a generation to end.
        self._lock = threading.Lock()
        self._listing: tuple[LoadedAdapter, ...] = ()

    def available(self) -> list[str]:
        """Adapter names in the adapter directory."""
        return sorted(path.stem for path in self._directory.glob("*.gguf"))

    def loaded(self) -> list[LoadedAdapter]:
        """The adapters in the cache, by name; never waits for the cache's lock."""
        return list(self._listing)

    def load(self, name: str, scale: float = 1.0) -> LoadedAdapter:
        """Load ``name`` from the adapter directory; 409 if loaded, 404 if absent, 507 over budget."""
        with self._lock:
            if name in self._loaded:
                raise conflict("name", f"adapter {name!r} is already loaded")
            return self._load_locked(name, scale)

    def unload(self, name: str) -> None:
        """Free ``name`` and give its VRAM reservation back; 404 if it is not loaded."""
        with self._lock:
            adapter = self._loaded.pop(name, None)
            if adapter is None:
                raise not_found("name", f"adapter {name!r} is not loaded")
            self._changed()
            self._engine.free_adapter(adapter.handle)
            self._vram.release(_owner(name))

    @contextmanager
    def using(self, requested: Sequence[tuple[str, float | None]]) -> Iterator[Resolution]:
        """The adapters a request names, loading those not in the cache (a cache miss).

        The cache stays locked until the block ends, so no adapter is freed while a request uses it.
        """
        applied, hits = [], 0
        with self._lock:
            for index, (name, scale) in enumerate(requested):
                adapter = self._loaded.get(name)
                if adapter is None:
                    if name not in self.available():
                        raise input_error(f"adapters.{index}.name", f"unknown adapter {name!r}")
                    adapter = self._load_locked(name, 1.0)
                else:
                    hits += 1
                applied.append(AppliedAdapter(name, adapter.handle, adapter.scale if scale is None else scale))
            yield Resolution(tuple(applied), hits)

    def close(self) -> None:
        """Free every adapter."""
        for adapter in self.loaded():
            self.unload(adapter.name)

    def _load_locked(self, name: str, scale: float) -> LoadedAdapter:
        if not ADAPTER_NAME.match(name):
            raise input_error("name", "adapter names are 1-64 letters, digits, '.', '_' or '-'")
        path = self._directory / f"{name}.gguf"
        if not path.is_file():
            raise not_found("name", f"no adapter {name!r} in the adapter directory")
        size = path.stat().st_size
        self._vram.reserve(_owner(name), size)
        handle = self._engine.init_adapter(path)
        if handle is None:
            self._vram.release(_owner(name))
            raise input_error("name", f"adapter {name!r} does not fit the loaded model")
        adapter = LoadedAdapter(name, path, size, scale, handle)
        self._loaded[name] = adapter
        self._changed()
        return adapter

    def _changed(self) -> None:
        self._listing = tuple(sorted(self._loaded.values(), key=lambda adapter: adapter.name))


def _owner(name: str) -> str:
    return f"adapter:{name}"
