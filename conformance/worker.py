"""Run implementations in an isolated worker process: a segfault, abort or hang kills only its own case.

One worker per framework (spawned, not forked: frameworks keep threads). The parent sends one call at a
time and waits at most `timeout` seconds. Outcomes:
  ("ok", Observed)            the implementation returned
  ("raised", (type, message)) the implementation raised (recorded and compared, never hidden)
  ("crashed", detail)         the process died (exit code / signal); the worker is restarted
  ("timeout", detail)         no answer in time; the process is killed and restarted
Every answer also carries the seconds spent inside the implementation's call (measured in the worker) and
the worker's running compile counts (JAX backend compiles and jaxpr traces, TF tf.function traces):
Worker.last_call_s and Worker.last_compiles (the increase during the last call).
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import time
import traceback
import warnings

from conformance.implementation import Observed

_CTX = mp.get_context("spawn")
START_TIMEOUT_S = 300.0


def _compile_counter(framework: str) -> dict:
    """Running counts of compilations in this process, updated by the frameworks' own hooks."""
    counts: dict = {}
    if framework == "jax":
        import jax

        counts.update(jax_compiles=0, jax_traces=0)
        names = {"/jax/core/compile/backend_compile_duration": "jax_compiles",
                 "/jax/core/compile/jaxpr_trace_duration": "jax_traces"}

        def listener(event, duration, **kwargs):
            if event in names:
                counts[names[event]] += 1

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


def _serve(conn, framework: str, custom_specs: list) -> None:
    """The worker's loop (runs in the child)."""
    try:
        from conformance.adapters import implementations_for

        impls = {impl.id: impl for impl in implementations_for(framework, custom_specs)}
        counts = _compile_counter(framework)
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
        impl_id, inputs, params, dtype, device, grads = request
        started = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    observed = impls[impl_id].call(inputs, params, dtype, device, tuple(grads))
                finally:
                    stats = {"call_s": time.perf_counter() - started, "compiles": dict(counts)}
            observed.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
            conn.send(("ok", (observed.value, observed.grads, observed.warnings), stats))
        except BaseException as exc:  # framework errors are data
            etype = f"{type(exc).__module__}.{type(exc).__qualname__}".replace("builtins.", "")
            stats = {"call_s": time.perf_counter() - started, "compiles": dict(counts)}
            try:
                conn.send(("raised", (etype, str(exc)), stats))
            except Exception:
                conn.send(("raised", (etype, traceback.format_exception_only(type(exc), exc)[-1]), stats))


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

    def __init__(self, framework: str, custom_specs: list | None = None, timeout: float = 120.0):
        self.framework = framework
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
        self.process = _CTX.Process(target=_serve, args=(child, self.framework, self.custom_specs), daemon=True)
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

    def call(self, impl_id, inputs, params, dtype, device, grads, timeout: float | None = None):
        if self.process is None or not self.process.is_alive():
            if self.process is not None:
                self.restarts += 1
            self.start()
        limit = self.timeout if timeout is None else timeout
        self.last_call_s, self.last_compiles = None, {}
        try:
            self.conn.send((impl_id, inputs, params, dtype, device, tuple(grads)))
            if not self.conn.poll(limit):
                self._kill()
                return "timeout", f"no answer within {limit:g} s; worker killed and restarted"
            status, payload, *extra = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            self.process.join(5)
            detail = _describe_exit(self.process.exitcode)
            self._kill()
            return "crashed", f"worker process died: {detail}"
        if extra:
            self._note(extra[0])
        if status == "ok":
            value, grads_out, caught = payload
            return "ok", Observed(value, grads_out, caught)
        if status == "raised" and "device-side assert" in str(payload[1]):
            self._kill()  # a device-side assert leaves the CUDA context unusable: start afresh next call
        return status, payload

    def _note(self, stats: dict) -> None:
        self.last_call_s = stats.get("call_s")
        now = stats.get("compiles") or {}
        self.last_compiles = {k: v - self.compiles.get(k, 0) if v >= self.compiles.get(k, 0) else v
                              for k, v in now.items()}  # a smaller count: a restarted process
        self.compiles = now

    def _kill(self) -> None:
        if self.process is not None and self.process.is_alive():
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
