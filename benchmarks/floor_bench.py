"""Certified reference throughput against its floor, in one process on the same batches:

  * the floor: an uncertified float64 NumPy evaluation of the same cross_entropy value and logits gradient
    (log-sum-exp with the max shift, softmax gradient) -- the least any answer costs;
  * the certified fast path (reference.evaluate, exact strings deferred) for float32 and float64 inputs of
    the same values, on the batches 64 x 32768 and 8 x 4096: per element, float64 against float32 (target
    4x) and float32 against the floor (target 10x);
  * one float32 cross_entropy case of C = 32768 classes end to end as the run handles it: the reference
    as the run's cache answers it (certification; exact strings and cond only on demand: docs/results.md),
    judging an observation (the float32 NumPy evaluation of the same formula), the record (large arrays
    packed, conformance/results/packed.py), and appending it to a results.jsonl -- against its certification
    time (target 2x), in wall time and in this thread's CPU time (best of 5 x repeat each; the split is
    CPU time). Beside it, what the three number lists (inputs, observed and rounded values) would cost as
    plain JSON numbers (`numbers_json_s`), the encoding records used before, and what a run on lanes adds
    (`lane_transfer_s`: the record pickled in the lane and unpickled in the driver, conformance/execute/lanes.py;
    not in the ratio: a serial run does not pay it), and the record's floor (`record_floor`): the steps any
    record of the case needs, timed alone -- what the 2x target leaves room for.
Timings are the best of `repeat` runs (the throughput rows: interleaved rounds, wall and CPU time); the
machine's load average is recorded beside them.
"""
from __future__ import annotations

import json
import os
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.reference_bench import _best  # one timing helper for the benchmarks

BATCHES = ((64, 32768), (8, 4096))


def numpy_float64(logits: np.ndarray, labels: np.ndarray):
    """cross_entropy (mean) and its logits gradient in plain float64 NumPy: uncertified."""
    x = logits.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    S = e.sum(axis=1, keepdims=True)
    rows = np.arange(x.shape[0])
    n = x.shape[0]
    loss = float(np.mean(np.log(S[:, 0]) - (x[rows, labels] - m[:, 0])))
    grad = e / S / n
    grad[rows, labels] -= 1.0 / n
    return loss, grad


def certified(logits, labels, dtype: str):
    import reference

    return reference.evaluate("cross_entropy", dtype, {"logits": logits.astype(dtype), "target": labels})


def throughput(repeat: int = 5, seed: int = 0) -> list[dict]:
    """The floor and both certified paths on each batch, interleaved round by round (floor, float32, float64,
    `repeat` rounds) so that a change in the machine's load touches the three alike; the best of the rounds,
    in wall time and in this thread's CPU time. The run's heap settings (conformance/execute/heap.py) are in
    effect, as where the run evaluates its references: large temporaries come from the kept heap."""
    from conformance.execute.heap import keep_heap

    heap_kept = keep_heap()
    rows = []
    for R, C in BATCHES:
        rng = np.random.default_rng(seed)
        logits = rng.normal(0.0, 3.0, (R, C))
        labels = rng.integers(0, C, R)
        elements = 1 + R * C
        load = os.getloadavg()[0]
        runs = {"floor": lambda: numpy_float64(logits, labels), "f32": lambda: certified(logits, labels, "float32"),
                "f64": lambda: certified(logits, labels, "float64")}
        wall = {k: float("inf") for k in runs}
        cpu = dict(wall)
        out = {}
        for _ in range(repeat):
            for k, fn in runs.items():
                w, c = time.perf_counter(), time.thread_time()
                out[k] = fn()
                cpu[k] = min(cpu[k], time.thread_time() - c)
                wall[k] = min(wall[k], time.perf_counter() - w)
        floor, f32, f64 = wall["floor"], wall["f32"], wall["f64"]
        r32, r64 = out["f32"], out["f64"]
        rows.append({"rows": R, "classes": C, "elements": elements, "load_average_1m": load, "repeat": repeat,
                     "heap_kept": heap_kept,
                     "numpy_float64_floor_s": floor, "certified_float32_s": f32, "certified_float64_s": f64,
                     "float32_precision_bits": r32.precision_bits, "float64_precision_bits": r64.precision_bits,
                     "float64_over_float32": f64 / f32, "float32_over_floor": f32 / floor,
                     "cpu_s": cpu, "float64_over_float32_cpu": cpu["f64"] / cpu["f32"],
                     "all_certified": bool(r32.certified and r64.certified)})
    return rows


def end_to_end(classes: int = 32768, repeat: int = 3, seed: int = 1) -> dict:
    """One float32 case of `classes` classes: certification alone vs the run's own steps for it: the
    reference as the run asks for it (conformance/execute/reference_cache.py: evaluate, then the exact
    strings and cond, or for a large case reference.approx's approximations), judging an observation,
    building the record (conformance/results/stream.py) and appending its line to a results.jsonl."""
    import reference
    from conformance.execute import reference_cache
    from conformance.execute.heap import keep_heap
    from conformance.results.stream import record_line, reference_json, tensor_json
    from conformance.results.strict_json import dumps

    heap_kept = keep_heap()  # the run's heap settings (conformance/execute/run.py, lanes.py), for both timings
    judge = _judge()
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (1, classes)).astype(np.float32)
    labels = rng.integers(0, classes, 1)
    inputs = {"logits": logits, "target": labels}
    load = os.getloadavg()[0]
    repeat = max(5 * repeat, 5)  # a case takes milliseconds: enough repetitions for a best-of on a loaded machine
    cert_wall, cert_cpu, _ = _best_wall_and_cpu(lambda: reference.evaluate("cross_entropy", "float32", inputs),
                                                repeat)
    loss, grad = numpy_float64(logits, labels)
    observed_value = np.float32(loss)
    observed_grad = grad.astype(np.float32)
    splits = []

    tmp = tempfile.TemporaryDirectory(prefix="ce-bench-e2e-")
    stream = Path(tmp.name, "results.jsonl")  # one run's stream, appended to as a run does

    def whole():
        before = reference_cache.EXACT_CLOCK[0]
        t0 = time.thread_time()
        ref = reference_cache.ReferenceCache(None).get("cross_entropy", "float32", inputs, {})
        t1 = time.thread_time()
        parts = judge(ref, observed_value, observed_grad, classes)
        t2 = time.thread_time()
        observed = {"value": tensor_json(observed_value), "grad": {"logits": tensor_json(observed_grad)}}
        record = {"inputs": {k: tensor_json(v) for k, v in inputs.items()}, "observed": observed,
                  "reference": reference_json(ref, observed, {k: p.failing for k, p in parts.items()}),
                  "verdicts": {k: p.verdict for k, p in parts.items()},
                  "ulp": {k: p.ulp for k, p in parts.items()},
                  "bound_ratio": {k: p.bound_ratio for k, p in parts.items()}}
        text = record_line(record)
        t3 = time.thread_time()
        with open(stream, "a", encoding="utf-8") as f:
            f.write(text + "\n")
        t4 = time.thread_time()
        splits.append({"total_cpu_s": t4 - t0, "reference_s": t1 - t0,
                       "exact_strings_and_cond_s": reference_cache.EXACT_CLOCK[0] - before,
                       "judge_s": t2 - t1, "record_json_s": t3 - t2, "write_s": t4 - t3, "record_bytes": len(text),
                       "verdicts": record["verdicts"], "bound_ratio": record["bound_ratio"]})
        return record

    try:
        total_wall, total_cpu, record = _best_wall_and_cpu(whole, repeat)
    finally:
        tmp.cleanup()
    split = min(splits, key=lambda sp: sp["total_cpu_s"])
    numbers = [record["inputs"]["logits"]["data"], record["observed"]["grad"]["logits"]["data"],
               record["reference"]["grad"]["logits"]["rounded"]]
    numbers_s, _ = _best(lambda: dumps(numbers), repeat)
    transfer_s, _ = _best(lambda: pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)), repeat)
    floor = record_floor(inputs, observed_grad, repeat)
    return {"record_floor": floor, "classes": classes, "dtype": "float32", "load_average_1m": load, "repeat": repeat, "heap_kept": heap_kept,
            "certification_s": cert_wall, "end_to_end_s": total_wall, "end_to_end_over_certification":
            total_wall / cert_wall, "certification_cpu_s": cert_cpu, "end_to_end_cpu_s": total_cpu,
            "end_to_end_over_certification_cpu": total_cpu / cert_cpu, "last_split": split,
            "numbers_json_s": numbers_s, "numbers_json_over_certification": numbers_s / cert_wall,
            "lane_transfer_s": transfer_s}


def record_floor(inputs: dict, observed_grad: np.ndarray, repeat: int) -> dict:
    """What any record of the case costs beyond its certification, whatever the code around it: the cache key
    (SHA-256 of the input bits, conformance/cases/case.py), the approximations the judge's bound ratio
    reads (reference/approx.py), the judge's own element passes (ULPs and bounds: compare_part), and the two
    arrays every record must carry -- the inputs and the observation (the rounded reference is a delta of
    the observation) -- base64-encoded with their CRC-32 and appended to a file. Best of `repeat`, CPU."""
    import base64
    import zlib

    import reference
    from conformance.cases.case import Case
    from reference.approx import approximate

    from conformance.execute.reference_cache import ReferenceCache

    ref = ReferenceCache(None).get("cross_entropy", "float32", inputs, {})  # the run's answer: approximations on
    params = dict(reference.OPS["cross_entropy"].defaults)
    arrays = [np.ascontiguousarray(inputs["logits"]).view(np.uint8), observed_grad.view(np.uint8)]
    judge = _judge()
    tmp = tempfile.TemporaryDirectory(prefix="ce-bench-floor-")
    path = Path(tmp.name, "floor.jsonl")

    def encode_and_write():
        text = "".join(f'{zlib.crc32(a):08x}{base64.b64encode(a).decode("ascii")}' for a in arrays)
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")

    try:
        out = {"key_s": _best_wall_and_cpu(lambda: Case("", "cross_entropy", "float32", inputs, params).key(),
                                           repeat)[1],
               "approximations_s": _best_wall_and_cpu(lambda: approximate("cross_entropy", "float32", inputs,
                                                                          params), repeat)[1],
               "judge_s": _best_wall_and_cpu(lambda: judge(ref, np.float32(ref.value.rounded), observed_grad,
                                                           observed_grad.size), repeat)[1],
               "encode_and_write_s": _best_wall_and_cpu(encode_and_write, repeat)[1]}
    finally:
        tmp.cleanup()
    out["total_s"] = sum(out.values())
    return out


def _best_wall_and_cpu(fn, repeat: int):
    """(best wall time, best CPU time of this thread, last result) over `repeat` calls: on a loaded machine
    the wall time of a task of milliseconds mostly measures the scheduler, its CPU time what it costs."""
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.thread_time()
        out = fn()
        cpu = min(cpu, time.thread_time() - c)
        wall = min(wall, time.perf_counter() - w)
    return wall, cpu, out


def _judge():
    from conformance.judge.verdict import compare_part

    def judge(ref, value, grad, classes):
        return {"value": compare_part(ref.value, np.asarray(value), "float32", classes),
                "grad:logits": compare_part(ref.grads["logits"], grad, "float32", classes)}

    return judge


def run(quick: bool = False) -> dict:
    repeat = 1 if quick else 3
    return {"throughput": throughput(2 if quick else 7), "end_to_end": end_to_end(repeat=repeat)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
