"""The enumerated values of the suite's options, in a module that imports nothing heavy (the pytest plugin
and the command line use them for `choices=` and validation before any framework is loaded)."""
from __future__ import annotations

PROFILES = {  # (docs/profiles.md) Hypothesis examples per cell, per-case timeout (s), shrinking budget per cell: candidates tried and
    # input elements evaluated (a 32k-class case costs as much as thousands of small ones); conformance/execute/cell_runner.py
    # and the execution modes each cell runs in (conformance/plan/mode_plan.py: default / sample / all);
    # derivative-mode cases (conformance/execute/mode_cases.py): mode_catalog readable + mode_examples drawn
    # per cell, built-in rows only where builtin_modes (quick: custom kernels only); mode_cells: per execution
    # mode, what a built-in row's cell in that mode runs where the mode is not its framework's default
    # (conformance/plan/mode_plan.py picks those cells) -- `catalog` catalog cases spread over the op's catalog,
    # `examples` Hypothesis examples, `shrink_steps` shrink candidates. Only for modes where every new shape
    # compiles at length: torch.compile (5-10 s a shape on 2 cores; a cross_entropy compile cell running the
    # whole catalog took 483 of a torch float32 ci run's 594 s) and JAX eager (op-by-op dispatch compiles
    # each primitive per shape); TensorFlow's graph and XLA cells cost seconds and run whole. A mode not
    # named, thorough, and custom kernels: the whole cell;
    # which Keras-backend and precision-policy rows run (conformance/plan/variant_plan.py: none / sample / all)
    "quick": {"examples": 4, "mode_examples": 1, "mode_catalog": 1, "builtin_modes": False, "timeout": 60.0,
              "shrink_steps": 20, "shrink_elements": 20_000, "modes": "default", "variants": "none"},
    "ci": {"examples": 12, "mode_examples": 1, "mode_catalog": 1, "timeout": 120.0, "shrink_steps": 20,
           "shrink_elements": 100_000, "modes": "sample", "variants": "sample",
           "mode_cells": {m: {"catalog": 4, "examples": 4, "shrink_steps": 8} for m in ("compile", "eager")}},
    "thorough": {"examples": 150, "mode_examples": 40, "mode_catalog": 3, "timeout": 600.0, "shrink_steps": 400,
                 "shrink_elements": 2_000_000, "modes": "all", "variants": "all"},
}
ALL_DTYPES = ("float64", "float32", "float16", "bfloat16")
ALL_DEVICES = ("cpu", "cuda")
SIGNATURES = ("torch", "jax", "tf", "tensorflow", "numpy")
