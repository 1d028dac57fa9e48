"""The one planning path: the user's choices -> (worker groups, cells), for `run`, the pytest plugin and `replay`.

A group is what one worker process serves: a framework's built-in rows, an installed plugin's rows (entry
point group `ce_conformance.implementations`), or the custom kernels of one calling convention (`--impl`).
A cell is one implementation x device x dtype x execution mode of a group, visited in the order of the groups,
then the implementations as declared, then the devices, then the dtypes, then the modes (default first). A device the machine lacks gives no cells
(cuda cells are skipped cleanly where there is no GPU); a framework that is not installed is `skipped`.
"""
from __future__ import annotations

import fnmatch
from typing import NamedTuple

from conformance.adapters import FRAMEWORKS, adapter, availability, implementations_for, plugins


class Group(NamedTuple):
    worker: str             # framework name, "plugin:<entry point>" or "custom:<framework>"
    module: object | None   # the adapter module of a built-in framework (its devices()), else None
    version: str | None
    implementations: tuple
    specs: tuple            # the custom kernels (conformance.adapters.custom.CustomSpec) the worker loads


class Cell(NamedTuple):
    group: int
    impl: object            # conformance.adapters.implementation.Implementation
    device: str
    dtype: str
    framework: str          # the group's worker name
    version: str | None
    mode: str | None = None  # execution mode (conformance/adapters/execution.py); None: the framework's default

    @property
    def impl_id(self) -> str:
        return self.impl.id

    @property
    def id(self) -> str:
        """IMPL|DTYPE|DEVICE, then |MODE for a mode other than the framework's default."""
        from conformance.adapters.execution import cell_id, default_mode

        return cell_id(self.impl.id, self.dtype, self.device, self.mode or default_mode(self.framework),
                       self.framework)


class Plan(NamedTuple):
    groups: list
    cells: list
    skipped: dict           # framework -> why it is not run


def selected(impl, ops=(), patterns=()) -> bool:
    """Whether an implementation is in a selection: its op among `ops` (all when empty) and its id matching
    one of the glob `patterns` (all when empty)."""
    return (not ops or impl.op in ops) and (not patterns or any(fnmatch.fnmatchcase(impl.id, p) for p in patterns))


def groups_for(frameworks, ops=(), patterns=(), custom_specs=(), with_plugins: bool = True) -> tuple[list, dict]:
    """(groups, skipped): the installed frameworks among `frameworks`, the installed plugins, then the custom
    kernels grouped by their worker; each group's implementations filtered by the selection."""
    groups, skipped = [], {}
    for name in frameworks:
        ok, info = availability(name)
        if not ok:
            skipped[name] = info
            continue
        impls = tuple(i for i in implementations_for(name) if selected(i, ops, patterns))
        groups.append(Group(name, adapter(name), info, impls, ()))
    for name, entry_point in (plugins().items() if with_plugins else ()):
        impls = tuple(i for i in implementations_for(name) if selected(i, ops, patterns))
        dist = entry_point.dist
        groups.append(Group(name, None, f"{dist.name} {dist.version}" if dist else None, impls, ()))
    by_worker: dict[str, list] = {}
    for spec in custom_specs:
        by_worker.setdefault(spec.worker, []).append(spec)
    for worker, specs in by_worker.items():
        impls = tuple(i for i in implementations(worker, specs) if i.id in {s.id for s in specs})
        groups.append(Group(worker, None, specs[0].version(), impls, tuple(specs)))
    return groups, skipped


def _devices(group: Group) -> list:
    if group.module is not None:
        return list(group.module.devices())
    if group.worker.startswith("custom:") and group.worker != "custom:numpy":
        return list(adapter(group.worker.split(":", 1)[1]).devices())
    return ["cpu"]


def cells_of(groups: list, dtypes, devices, modes=None, profile: str | None = None, explicit: bool = False) -> list[Cell]:
    """Every (group, implementation, device, dtype, mode) the plan visits, in order (a dtype an implementation
    does not declare is still a cell: its records say `unsupported`). Modes: `modes` (run --modes) or the
    profile's plan (conformance/plan/mode_plan.py); neither: each framework's default mode only. Keras-backend
    and precision-policy rows: the profile's sample, all of them when `explicit` (implementations named;
    conformance/plan/variant_plan.py)."""
    from conformance.plan import variant_plan
    from conformance.plan.mode_plan import cell_modes

    out = []
    for g, group in enumerate(groups):
        present = _devices(group)
        for impl in group.implementations:
            for device in (d for d in impl.devices if d in present and (not devices or d in devices)):
                for dtype in dtypes:
                    if not variant_plan.runs(impl, group.implementations, dtype, profile or "quick", explicit):
                        continue
                    chosen = cell_modes(group.worker, impl, group.implementations, dtype, modes, profile or "quick")
                    out += [Cell(g, impl, device, dtype, group.worker, group.version, mode) for mode in chosen]
    return out


def plan(frameworks, ops=(), dtypes=(), devices=(), patterns=(), custom_specs=(), with_plugins: bool = True,
         modes=None, profile: str | None = None) -> Plan:
    """The groups and cells of a run (see the module docstring)."""
    groups, skipped = groups_for(frameworks, ops, patterns, custom_specs, with_plugins)
    return Plan(groups, cells_of(groups, dtypes, devices, modes, profile, explicit=bool(patterns)), skipped)


def implementations(framework: str, specs=()) -> list:
    """Every implementation a worker for `framework` serves: the built-in or plugin rows, plus the custom
    kernels (--impl) whose signature is this framework."""
    from conformance.adapters.custom import build_custom

    return implementations_for(framework) + [build_custom(s) for s in specs if s.worker == framework]


def find_implementation(framework: str, impl_id: str, specs=()):
    """The implementation `impl_id` of a worker group (built-in, plugin or custom); None when it has none."""
    return next((i for i in implementations(framework, specs) if i.id == impl_id), None)


def installed_frameworks(frameworks=()) -> list:
    """The built-in frameworks among `frameworks` (all when empty) that are installed here."""
    return [f for f in (frameworks or tuple(FRAMEWORKS)) if availability(f)[0]]
