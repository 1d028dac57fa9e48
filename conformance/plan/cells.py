"""Which cells (implementation x dtype x device) a run covers, from the user's choices."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from conformance.adapters import adapter, availability, implementations_for


@dataclass(frozen=True)
class Cell:
    framework: str
    version: str
    impl_id: str
    dtype: str
    device: str

    @property
    def id(self) -> str:
        return f"{self.impl_id}|{self.dtype}|{self.device}"


def select_cells(frameworks, ops=(), dtypes=(), devices=(), patterns=(), custom_specs=()) -> list[Cell]:
    """Every selected cell of every installed framework, and of each custom implementation; a device the
    machine lacks gives no cells (cuda cells are skipped cleanly where there is no GPU)."""
    cells = []
    for spec in custom_specs:
        impl = next(i for i in implementations_for(spec.worker, [spec]) if i.id == spec.id)
        present = adapter(spec.worker.split(":", 1)[1]).devices() if spec.signature != "numpy" else ["cpu"]
        for device in (d for d in impl.devices if d in present and (not devices or d in devices)):
            cells += [Cell(spec.worker, spec.version(), spec.id, dtype, device) for dtype in dtypes
                      if dtype in spec.dtypes]
    for framework in frameworks:
        ok, version = availability(framework)
        if not ok:
            continue
        present = adapter(framework).devices()
        for impl in implementations_for(framework):
            if ops and impl.op not in ops:
                continue
            if patterns and not any(fnmatch.fnmatchcase(impl.id, p) for p in patterns):
                continue
            for device in impl.devices:
                if device not in present or (devices and device not in devices):
                    continue
                for dtype in dtypes:
                    cells.append(Cell(framework, version, impl.id, dtype, device))
    return cells
