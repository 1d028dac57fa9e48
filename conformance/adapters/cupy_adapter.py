"""CuPy adapter: cupyx.scipy.special's softmax family on the GPU (value only, like SciPy's).

Runs only where CuPy and a CUDA device are present; elsewhere `available()` is False and the framework is
reported as skipped. Inputs go to the device exactly (bfloat16 is not a CuPy dtype: declared unsupported).
"""
from __future__ import annotations

import importlib.util


from conformance.adapters.implementation import Implementation, Observed

FRAMEWORK = "cupy"
DOCS = "https://docs.cupy.dev/en/stable/reference/generated/"
DTYPES = ("float64", "float32", "float16")


def available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device
        return False


def version() -> str:
    import cupy

    return f"cupy {cupy.__version__}"


def devices() -> list[str]:
    return ["cuda"] if available() else []


def _call(name: str, arg_names: tuple[str, ...], with_axis: bool):
    def call(inputs, params, dtype, device, grads):
        import cupy
        from cupyx.scipy import special

        args = [cupy.asarray(inputs[n]) for n in arg_names]
        kwargs = {"axis": params.get("axis", -1)} if with_axis else {}
        out = getattr(special, name)(*args, **kwargs)
        return Observed(cupy.asnumpy(out))

    return call


ROWS = (  # (cupyx.scipy.special function, reference op, inputs, takes axis)
    ("softmax", "softmax", ("x",), True),
    ("log_softmax", "log_softmax", ("x",), True),
    ("xlogy", "xlogy", ("x", "y"), False),
    ("rel_entr", "rel_entr", ("x", "y"), False),
    ("kl_div", "generalized_kl", ("x", "y"), False),
)


def implementations() -> list[Implementation]:
    return [
        Implementation(id=f"cupyx.scipy.special.{name}", framework=FRAMEWORK, op=op,
                       call=_call(name, args, axis), dtypes=DTYPES, params={"axis": None} if axis else {},
                       devices=("cuda",), link=f"{DOCS}cupyx.scipy.special.{name}.html")
        for name, op, args, axis in ROWS
    ]
