"""What `python -m conformance run` prints while it works: a header (profile, seed, frameworks, cells, output
directory, reference cache), one `[k/N]` line per cell with its elapsed time and an ETA, and a line when a
cell starts shrinking a failure (the slowest thing a cell does). Only this module formats run output."""
from __future__ import annotations

import time


def selection_text(config) -> str:
    """The user's selection in words, for 'nothing to run' messages."""
    parts = []
    if config.implementations:
        parts.append("--implementations " + " ".join(repr(p) for p in config.implementations))
    if config.ops:
        parts.append("--ops " + ",".join(config.ops))
    if config.custom:
        parts.append("--impl " + " ".join(s.target for s in config.custom if hasattr(s, "target")))
    return " ".join(parts) or "the selection"


def clock(seconds: float) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min."""
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {sec:02d} s"


class Progress:
    """Counts cells as they finish; the ETA is the mean time of the cells run so far times those left."""

    def __init__(self, total: int, already_done: int, log, quiet: bool = False):
        self.total, self.done, self.log, self.quiet = total, already_done, log, quiet
        self.ran = 0
        self.started = time.perf_counter()

    def header(self, config, groups, skipped: dict, refs) -> None:
        frameworks = ", ".join(f"{name} {version}" if version and not str(version).startswith(name)
                               else str(version or name) for name, _, version, _, _ in groups) or "none"
        impls = sum(len(impls) for *_, impls, _ in groups)
        store = getattr(refs, "store", None)
        cache = f"{store.dir}" if store is not None else "memory only (--no-cache)"
        lines = [f"conformance run: profile {config.profile}, seed {config.seed}",
                 f"  frameworks: {frameworks}"]
        lines += [f"  skipped {name}: {reason}" for name, reason in skipped.items()]
        lines.append(f"  {self.total} cells ({impls} implementations x dtypes x devices)"
                     + (f", {self.done} already done (--resume)" if self.done else ""))
        lines.append(f"  output: {config.out_dir}/results.jsonl (streamed), results.json at the end")
        lines.append(f"  reference cache: {cache}")
        for line in lines:
            self.log(line)

    def shrinking(self, ctx, record) -> None:
        from conformance.execute.cell_budget import shrink_budget, shrink_element_budget

        self.shrinking_line(ctx.cell, record["verdict"], record.get("part") or "value", shrink_budget(ctx),
                            shrink_element_budget(ctx))

    def shrinking_line(self, cell: str, verdict: str, part: str, steps: int, elements: int) -> None:
        if self.quiet:
            return
        self.log(f"  [{self.done + 1}/{self.total}] {cell}: {verdict} found ({part}), shrinking it "
                 f"(at most {steps} steps, {elements:,} input elements)")

    def cell_done(self, ctx, records, seconds: float, error: str | None = None) -> None:
        self.done += 1
        self.ran += 1
        if self.quiet and error is None:
            return
        elapsed = time.perf_counter() - self.started
        left = self.total - self.done
        eta = f", ETA {clock(elapsed / self.ran * left)}" if left else ""
        if error is not None:
            what = error
        else:
            bad = sum(1 for r in records if r.get("unexpected"))
            compiled = sum(v for k, v in ctx.compiles.items() if not k.endswith("_s"))
            what = (f"{len(records)} records, {bad} unexpected, {ctx.calls} calls"
                    + (f", {compiled} compiles" if ctx.compiles else ""))
        self.log(f"[{self.done}/{self.total}] {ctx.cell}: {what} ({seconds:.1f} s; elapsed {clock(elapsed)}{eta})")
