"""Run implementations in an isolated worker process: a segfault, abort or hang kills only its own case.

One worker per framework (spawned, not forked: frameworks keep threads). The parent sends one call at a
time and waits at most `timeout` seconds. Outcomes:
  ("ok", Observed)            the implementation returned
  ("raised", (type, message)) the implementation raised (recorded and compared, never hidden)
  ("crashed", detail)         the process died (exit code / signal); the worker is restarted
  ("timeout", detail)         no answer in time; the process is killed and restarted
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import traceback
import warnings

from conformance.implementation import Observed

_CTX = mp.get_context("spawn")
START_TIMEOUT_S = 300.0


def _serve(conn, framework: str, custom_specs: list) -> None:
    """The worker's loop (runs in the child)."""
    try:
        from conformance.adapters import implementations_for

        impls = {impl.id: impl for impl in implementations_for(framework, custom_specs)}
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
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                observed = impls[impl_id].call(inputs, params, dtype, device, tuple(grads))
            observed.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
            conn.send(("ok", (observed.value, observed.grads, observed.warnings)))
        except BaseException as exc:  # framework errors are data
            etype = f"{type(exc).__module__}.{type(exc).__qualname__}".replace("builtins.", "")
            try:
                conn.send(("raised", (etype, str(exc))))
            except Exception:
                conn.send(("raised", (etype, traceback.format_exception_only(type(exc), exc)[-1])))


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

    def start(self) -> None:
        parent, child = _CTX.Pipe()
        self.process = _CTX.Process(target=_serve, args=(child, self.framework, self.custom_specs), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
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
        try:
            self.conn.send((impl_id, inputs, params, dtype, device, tuple(grads)))
            if not self.conn.poll(limit):
                self._kill()
                return "timeout", f"no answer within {limit:g} s; worker killed and restarted"
            status, payload = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            self.process.join(5)
            detail = _describe_exit(self.process.exitcode)
            self._kill()
            return "crashed", f"worker process died: {detail}"
        if status == "ok":
            value, grads_out, caught = payload
            return "ok", Observed(value, grads_out, caught)
        if status == "raised" and "device-side assert" in str(payload[1]):
            self._kill()  # a device-side assert leaves the CUDA context unusable: start afresh next call
        return status, payload

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
