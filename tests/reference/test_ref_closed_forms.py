"""Closed forms and the worked values of the seed articles (../shared/seeds)."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref_helpers import close, evaluate, mpf, rounded_of

mp.mp.prec = 200

# shared/seeds/003: torch.nn.CrossEntropyLoss on these float32 logits and targets printed
#   Cross Entropy Loss: tensor(1.8338) and these input gradients (4 decimals).
SEED_LOGITS = [[0.8671, 0.0189, 0.0042, 0.1619, 0.9805],
               [0.1054, 0.1519, 0.6359, 0.6112, 0.9417],
               [0.9968, 0.3285, 0.9185, 0.0315, 0.9592]]
SEED_TARGET = [1, 0, 4]
SEED_GRADS = [[0.0962, -0.2921, 0.0406, 0.0475, 0.1078],
              [-0.2901, 0.0453, 0.0735, 0.0717, 0.0997],
              [0.0882, 0.0452, 0.0815, 0.0336, -0.2484]]


def test_seed_pytorch_cross_entropy_example():
    r = evaluate("cross_entropy", "float32", {"logits": np.array(SEED_LOGITS, dtype=np.float32),
                                              "target": np.array(SEED_TARGET)})
    assert r.certified
    assert f"{float(mpf(r.value.exact[()])):.4f}" == "1.8338"
    grads = np.array([[float(mpf(s)) for s in row] for row in r.grads["logits"].exact])
    assert np.array_equal(np.round(grads, 4), np.array(SEED_GRADS))
    assert r.grads["logits"].rounded.dtype == np.float32


def test_seed_five_equal_outcomes_is_2_3219_bits():
    r = evaluate("entropy", "float64", {"p": [[0.2] * 5]}, {"base": 2})
    assert f"{float(mpf(r.value.exact[0])):.4f}" == "2.3219"
    # and cross entropy of a distribution with itself (the seed's counter-example): same number
    r2 = evaluate("cross_entropy_dist", "float64", {"p": [[0.2] * 5], "q": [[0.2] * 5]}, {"base": 2})
    assert close(mpf(r2.value.exact[0]), mpf(r.value.exact[0]), rel=mp.mpf("1e-35"))


def test_seed_minus_ln_point_two_is_1_6094():
    r = evaluate("cross_entropy_dist", "float64", {"p": [[0, 0, 1]], "q": [[0.6, 0.2, 0.2]]})
    assert f"{float(mpf(r.value.exact[0])):.4f}" == "1.6094"
    assert close(mpf(r.value.exact[0]), -mp.log(mp.mpf(0.2)), rel=mp.mpf("1e-35"))


def test_issue_example_value():
    r = evaluate("cross_entropy", "float32", {"logits": [[1.0, 2.0, 3.0]], "target": [0]}, {"reduction": "mean"})
    assert r.value.exact[()].startswith("2.4076059644443803")
    assert close(mpf(r.value.exact[()]), mp.log(mp.e + mp.e ** 2 + mp.e ** 3) - 1, rel=mp.mpf("1e-38"))
    assert float(r.value.rounded) == rounded_of(mp.log(mp.e + mp.e ** 2 + mp.e ** 3) - 1, "float32")


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_uniform_entropy_is_log_n(data):
    n = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64]), label="outcomes")  # 1/n exact in every dtype
    dtype = data.draw(st.sampled_from(["float64", "float32", "float16", "bfloat16"]), label="dtype")
    base = data.draw(st.sampled_from(["e", 2]), label="base")
    r = evaluate("entropy", dtype, {"p": [[1.0 / n] * n]}, {"base": base})
    want = mp.log(n) if base == "e" else mp.log(n, 2)
    assert close(mpf(r.value.exact[0]), want, rel=mp.mpf("1e-35"), abs_=mp.mpf("1e-60"))
    assert float(r.value.rounded[0]) == rounded_of(want, dtype)
    if base == 2:
        assert float(r.value.rounded[0]) == np.log2(n)  # exact small integers


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_uniform_logits_give_log_c(data):
    c = data.draw(st.integers(1, 12), label="classes")
    x = data.draw(st.integers(-20, 20), label="common logit")
    y = data.draw(st.integers(0, c - 1), label="label")
    r = evaluate("cross_entropy", "float64", {"logits": [[float(x)] * c], "target": [y]})
    assert close(mpf(r.value.exact[()]), mp.log(c), rel=mp.mpf("1e-35"), abs_=mp.mpf("1e-60"))
    g = [mpf(s) for s in r.grads["logits"].exact[0]]
    for j, gj in enumerate(g):
        assert close(gj, mp.mpf(1) / c - (1 if j == y else 0), rel=mp.mpf("1e-35"), abs_=mp.mpf("1e-60"))


def test_one_hot_entropy_is_zero_exactly():
    r = evaluate("entropy", "float32", {"p": [[0, 1, 0]]})
    assert r.value.exact[0] == "0" and float(r.value.rounded[0]) == 0.0
    assert list(r.grads["p"].exact[0]) == ["inf", "-1", "inf"]


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_two_class_cross_entropy_is_softplus_of_the_margin(data):
    a = data.draw(st.integers(-64, 64), label="logit of the label") / 8
    b = data.draw(st.integers(-64, 64), label="other logit") / 8
    r = evaluate("cross_entropy", "float64", {"logits": [[a, b]], "target": [0]})
    want = mp.log1p(mp.exp(mp.mpf(b) - mp.mpf(a)))
    assert close(mpf(r.value.exact[()]), want, rel=mp.mpf("1e-35"))
    sig = 1 / (1 + mp.exp(mp.mpf(a) - mp.mpf(b)))
    assert close(mpf(r.grads["logits"].exact[0][0]), -sig, rel=mp.mpf("1e-35"))
    assert close(mpf(r.grads["logits"].exact[0][1]), sig, rel=mp.mpf("1e-35"))


@pytest.mark.parametrize("x,want", [(0, "0.5"), (1, None), (-1, None)])
def test_sigmoid_closed_form(x, want):
    r = evaluate("sigmoid", "float64", {"x": [float(x)]})
    value = 1 / (1 + mp.exp(-x))
    assert close(mpf(r.value.exact[0]), value, rel=mp.mpf("1e-38"))
    if want:
        assert r.value.exact[0] == want and r.grads["x"].exact[0] == "0.25"


def test_kl_of_a_distribution_with_itself_is_exactly_zero():
    r = evaluate("kl_divergence", "float32", {"p": [[0.1, 0.2, 0.7]], "q": [[0.1, 0.2, 0.7]]})
    assert r.value.exact[0] == "0" and r.certified
    r = evaluate("generalized_kl", "float64", {"x": [0.3], "y": [0.3]})
    assert r.value.exact[0] == "0"
