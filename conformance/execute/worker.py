"""Run implementations in an isolated worker process: a segfault, abort or hang kills only its own case.

One worker per framework (spawned, not forked: frameworks keep threads). The parent sends one call at a
time and waits at most `timeout` seconds. Outcomes:
  ("ok", Observed)            the implementation returned
  ("raised", (type, message)) the implementation raised (recorded and compared, never hidden)
  ("crashed", detail)         the process died (exit code / signal); the worker is restarted
  ("timeout", detail)         no answer in time; the process is killed and restarted
Every answer also carries the seconds spent inside the implementation's call (measured in the worker) and
the worker's running compile counts (JAX backend compiles and jaxpr traces, TF tf.function traces, torch.compile
graphs), so a cell's compiles are counted per execution mode (a request names its mode: adapters/execution.py):
Worker.last_call_s and Worker.last_compiles (the increase during the last call).

Containment:
- Each worker is the leader of its own process group (os.setsid in the child). When the worker is stopped
  (end of its framework's cells, end of the run), killed after a timeout or found dead after a crash, the
  whole group gets SIGKILL: a process the implementation started cannot outlive the run (one that leaves
  the group on purpose, with setsid, can).
- max_memory (bytes; `run --max-worker-memory`): RLIMIT_AS of the worker, set once its framework is loaded.
  A MemoryError inside the implementation (a cap hit, or an allocation no machine has) is
  ("crashed", "memory: ...") and the worker is restarted; so is a framework's own out-of-memory error
  while a cap is set.
- The implementation's stdout and stderr (file descriptors 1 and 2, C code included) go to a temporary file
  per call, not to the run's output: Worker.last_output is None when it printed nothing, else {"text": the
  first OUTPUT_LIMIT bytes as text, "bytes": how many it wrote, "truncated": bool}; the runner keeps it in
  the record as "output".
"""
from __future__ import annotations

import multiprocessing as mp
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import warnings

from conformance.adapters import modes
from conformance.adapters.implementation import Observed

_CTX = mp.get_context("spawn")
START_TIMEOUT_S = 300.0
OUTPUT_LIMIT = 8192  # bytes of an implementation's output kept per case
_OOM_TEXT = re.compile(r"out of memory|can't allocate memory|cannot allocate memory|ResourceExhausted|bad_alloc",
                       re.IGNORECASE)


def _compile_counter(framework: str) -> dict:
    """Running counts of compilations in this process, updated by the frameworks' own hooks."""
    counts: dict = {}
    if framework == "jax":
        import jax

        counts.update(jax_compiles=0, jax_traces=0)
        names = {"/jax/core/compile/backend_compile_duration": "jax_compiles",
                 "/jax/core/compile/jaxpr_trace_duration": "jax_traces"}

        counts["jax_compile_s"] = 0.0  # seconds in backend compiles (not a count)

        def listener(event, duration, **kwargs):
            if event in names:
                counts[names[event]] += 1
            if event == "/jax/core/compile/backend_compile_duration":
                counts["jax_compile_s"] += duration

        jax.monitoring.register_event_duration_secs_listener(listener)
    elif framework == "tensorflow":
        try:  # every new tf.function graph goes through this (private) function
            from tensorflow.python.eager.polymorphic_function import tracing_compilation as tc

            original = tc._create_concrete_function
        except (ImportError, AttributeError):
            return counts
        counts["tf_traces"] = 0

        def traced(*args, **kwargs):
            counts["tf_traces"] += 1
            return original(*args, **kwargs)

        tc._create_concrete_function = traced
    return counts


def _counted(counts: dict) -> dict:
    """The running compile counts now; torch.compile's are read from dynamo's own counters (graphs compiled,
    once torch has compiled anything in this process)."""
    out = dict(counts)
    dynamo_utils = sys.modules.get("torch._dynamo.utils")
    if dynamo_utils is not None:
        graphs = dynamo_utils.counters["stats"].get("unique_graphs", 0)
        if graphs:
            out["torch_compiles"] = graphs
    return out


class _Capture:
    """File descriptors 1 and 2 redirected to one temporary file for the duration of a call."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        self.output = None

    def __enter__(self):
        _flush()
        fd = self.file.fileno()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        self.saved = (os.dup(1), os.dup(2))
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        return self

    def __exit__(self, *exc):
        _flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in self.saved:
            os.close(fd)
        fd = self.file.fileno()
        size = os.fstat(fd).st_size
        self.output = None
        if size:
            head = os.pread(fd, OUTPUT_LIMIT, 0)
            self.output = {"text": head.decode("utf-8", "replace"), "bytes": size, "truncated": size > len(head)}
        os.ftruncate(fd, 0)
        return False


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:  # C stdio buffers (printf in a framework's C/C++ code)
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass


def _serve(conn, framework: str, custom_specs: list, max_memory: int | None = None) -> None:
    """The worker's loop (runs in the child)."""
    try:
        os.setsid()  # its own process group: killed as one (see Worker._kill)
    except OSError:
        pass
    try:
        from conformance.adapters import execution, keras_runtime

        keras_runtime.prepare_process(execution.framework_of(framework))  # KERAS_BACKEND before Keras loads
        from conformance.plan.cells import implementations

        impls = {impl.id: impl for impl in implementations(framework, custom_specs)}
        counts = _compile_counter(framework)
        if max_memory:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
        capture = _Capture()
    except BaseException as exc:  # the import itself failed: report it, then exit
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", sorted(impls)))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        impl_id, inputs, params, dtype, device, grads, *rest = request
        mode_request = rest[0] if rest else None  # a mode case's cotangent / tangents / hvp
        mode = rest[1] if len(rest) > 1 else None  # the execution mode (conformance/adapters/execution.py)
        memory = rest[2] if len(rest) > 2 else None
        if memory and execution.framework_of(framework) == "numpy":  # numpy functions take the arrays as given
            inputs = {name: execution.numpy_view(a, memory) for name, a in inputs.items()}
        started = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with capture, modes.requested(mode_request), execution.using(mode, memory):
                        observed = impls[impl_id].call(inputs, params, dtype, device, tuple(grads))
                finally:
                    stats = {"call_s": time.perf_counter() - started, "compiles": _counted(counts),
                             "output": capture.output}
            observed.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
            conn.send(("ok", (observed.value, observed.grads, observed.warnings, observed.derivs), stats))
        except BaseException as exc:  # framework errors are data
            etype = f"{type(exc).__module__}.{type(exc).__qualname__}".replace("builtins.", "")
            stats = {"call_s": time.perf_counter() - started, "compiles": _counted(counts), "output": capture.output}
            try:
                message = str(exc)
            except Exception:
                message = traceback.format_exception_only(type(exc), exc)[-1]
            out_of_memory = isinstance(exc, MemoryError) or bool(max_memory and _OOM_TEXT.search(message))
            conn.send(("memory" if out_of_memory else "raised", (etype, message[:100_000]), stats))


def _describe_exit(code) -> str:
    if code is None:
        return "process did not exit"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Worker:
    """A restartable worker process for one framework (plus any custom implementations)."""

    def __init__(self, framework: str, custom_specs: list | None = None, timeout: float = 120.0,
                 max_memory: int | None = None):
        self.framework = framework
        self.max_memory = max_memory  # bytes of address space (RLIMIT_AS), None: no cap
        self.last_output: dict | None = None  # what the implementation printed during the last call
        self.custom_specs = list(custom_specs or [])
        self.timeout = timeout
        self.process = None
        self.conn = None
        self.impl_ids: list[str] = []
        self.restarts = 0
        self.last_call_s: float | None = None  # seconds inside the implementation's last call
        self.compiles: dict = {}  # running compile counts of the current process
        self.last_compiles: dict = {}  # their increase during the last call

    def start(self) -> None:
        parent, child = _CTX.Pipe()
        self.process = _CTX.Process(target=_serve, args=(child, self.framework, self.custom_specs, self.max_memory), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.compiles = {}
        if not parent.poll(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"{self.framework} worker did not start within {START_TIMEOUT_S:.0f} s")
        try:
            status, payload = parent.recv()
        except EOFError:
            code = self.process.exitcode if self.process else None
            self.stop()
            raise RuntimeError(f"{self.framework} worker died while starting ({_describe_exit(code)})")
        if status != "ready":
            self.stop()
            raise RuntimeError(f"{self.framework} worker could not load its adapter: {payload}")
        self.impl_ids = payload

    def call(self, impl_id, inputs, params, dtype, device, grads, timeout: float | None = None,
             mode_request: dict | None = None, mode: str | None = None, memory: str | None = None):
        if self.process is None or not self.process.is_alive():
            if self.process is not None:
                self.restarts += 1
            self.start()
        limit = self.timeout if timeout is None else timeout
        self.last_call_s, self.last_compiles, self.last_output = None, {}, None
        try:
            self.conn.send((impl_id, inputs, params, dtype, device, tuple(grads), mode_request, mode, memory))
            if not self.conn.poll(limit):
                self._kill()
                return "timeout", f"no answer within {limit:g} s; worker killed and restarted"
            status, payload, *extra = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            self.process.join(5)
            detail = _describe_exit(self.process.exitcode)
            self._kill()
            if self.max_memory:
                detail += f" (its memory cap is {self.max_memory / 2**20:g} MiB)"
            return "crashed", f"worker process died: {detail}"
        if extra:
            self._note(extra[0])
        if status == "ok":
            value, grads_out, caught, *derivs = payload
            return "ok", Observed(value, grads_out, caught, derivs[0] if derivs else {})
        if status == "memory":
            self._kill()  # a process that ran out of memory may be in any state: start afresh next call
            cap = f"; the worker's memory cap is {self.max_memory / 2**20:g} MiB" if self.max_memory else ""
            return "crashed", f"memory: the implementation ran out of memory ({payload[0]}: {payload[1]}{cap})"
        if status == "raised" and "device-side assert" in str(payload[1]):
            self._kill()  # a device-side assert leaves the CUDA context unusable: start afresh next call
        return status, payload

    def _note(self, stats: dict) -> None:
        self.last_call_s = stats.get("call_s")
        self.last_output = stats.get("output")
        now = stats.get("compiles") or {}
        self.last_compiles = {k: v - self.compiles.get(k, 0) if v >= self.compiles.get(k, 0) else v
                              for k, v in now.items()}  # a smaller count: a restarted process
        self.compiles = now

    def _kill(self) -> None:
        """SIGKILL the worker's whole process group (the worker and anything its implementations started)."""
        if self.process is not None and self.process.pid is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def stop(self) -> None:
        if self.conn is not None and self.process is not None and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(5)
            except (BrokenPipeError, OSError):
                pass
        self._kill()
        self.process = None


def start_quietly(worker: Worker) -> None:
    """Start a worker before its first cell, so the framework's import is not counted as that cell's time; a
    worker that cannot start is left to its first call, which reports it in the cell as before."""
    try:
        worker.start()
    except Exception:
        worker.process = None


def baseline_worker(impl, specs, workers: dict, timeout: float):
    """(built-in Implementation, Worker, version) for a custom kernel run with --baseline, else None; `workers`
    keeps one Worker per baseline id for the run (the caller stops them)."""
    spec = next((s for s in specs if s.id == impl.id and s.baseline), None)
    if spec is None:
        return None
    if spec.baseline not in workers:
        from conformance.adapters import availability
        from conformance.judge import baseline

        framework, base = baseline.find(spec.baseline, spec.op)
        workers[spec.baseline] = (base, Worker(framework, [], timeout=timeout), availability(framework)[1])
    return workers[spec.baseline]
