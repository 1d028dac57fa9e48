"""vjp / jvp / hvp (reference.derivs) of the ops and params issue 17 added, against mpmath.diff of mp_ops."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ref_helpers import logits_strategy, prob_rows_strategy
from test_ref_derivs import run_modes
from test_ref_gradients import SETTINGS


@SETTINGS
@given(data=st.data())
def test_entr_derivs(data):
    x = data.draw(prob_rows_strategy(1, 3), label="x") * 2
    run_modes("entr", data, {"x": x}, {}, x.shape)


@SETTINGS
@given(data=st.data())
def test_poly_loss_derivs(data):
    x = data.draw(logits_strategy(2, 3), label="logits")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    params = {"epsilon": data.draw(st.sampled_from([2.0, -1.0]), label="epsilon"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    run_modes("poly_loss", data, {"logits": x, "target": t}, params, (2,) if params["reduction"] == "none" else ())


@SETTINGS
@given(data=st.data())
def test_multilabel_soft_margin_derivs(data):
    x = data.draw(logits_strategy(2, 3, -10, 10), label="x")
    y = data.draw(prob_rows_strategy(2, 3), label="y")
    params = {"reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "weight": data.draw(st.sampled_from([None, [1.0, 3.0, 0.5]]), label="weight")}
    run_modes("multilabel_soft_margin_loss", data, {"x": x, "y": y}, params,
              (2,) if params["reduction"] == "none" else ())


@SETTINGS
@given(data=st.data())
def test_binary_focal_derivs(data):
    p = data.draw(prob_rows_strategy(1, 3), label="p") * 0.96875
    y = data.draw(prob_rows_strategy(1, 3), label="y")
    params = {"gamma": data.draw(st.sampled_from([0.0, 2.0, 3.0]), label="gamma"),
              "alpha": data.draw(st.sampled_from([None, 0.25]), label="alpha"),
              "label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum"]), label="reduction")}
    run_modes("binary_focal_loss", data, {"p": p, "y": y}, params, p.shape if params["reduction"] == "none" else ())


@SETTINGS
@given(data=st.data())
def test_kl_div_generalized_derivs(data):
    q = data.draw(prob_rows_strategy(1, 3), label="q") * 2
    t = data.draw(prob_rows_strategy(1, 3), label="target") * 2
    params = {"generalized": True, "reduction": data.draw(st.sampled_from(["none", "sum"]), label="reduction")}
    run_modes("kl_div", data, {"input": np.log(q), "target": t}, params, q.shape if params["reduction"] == "none" else ())


@SETTINGS
@given(data=st.data())
def test_cross_entropy_dist_label_smoothing_derivs(data):
    p = data.draw(prob_rows_strategy(2, 3), label="p")
    q = data.draw(prob_rows_strategy(2, 3), label="q")
    params = {"label_smoothing": 0.25, "normalize": data.draw(st.sampled_from(["none", "q"]), label="normalize")}
    run_modes("cross_entropy_dist", data, {"p": p, "q": q}, params, (2,))


@SETTINGS
@given(data=st.data())
def test_logsumexp_derivs(data):
    x = data.draw(logits_strategy(2, 3), label="x")
    run_modes("logsumexp", data, {"x": x}, {}, (2,))


@SETTINGS
@given(data=st.data())
def test_xlog1py_derivs(data):
    x = data.draw(prob_rows_strategy(1, 3), label="x") * 2
    y = data.draw(prob_rows_strategy(1, 3), label="y")
    run_modes("xlog1py", data, {"x": x, "y": y}, {}, x.shape)


@SETTINGS
@given(data=st.data())
def test_generalized_cross_entropy_derivs(data):
    p = data.draw(prob_rows_strategy(2, 3), label="p")
    y = np.array([data.draw(st.integers(0, 2), label=f"label {i}") for i in range(2)])
    run_modes("generalized_cross_entropy", data, {"p": p, "target": y}, {"q": 0.7}, (2,))
