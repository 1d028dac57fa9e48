"""Weight-parameter gradients as data (conformance/adapters/modes.py): the rows in PARAM_GRADS give vjp:weight
through torch.autograd.grad, and every row in PARAM_GRADS_UNSUPPORTED really refuses (torch raises when the
weight requires grad), so the tables stay true when torch changes."""
import numpy as np
import pytest

from conformance.adapters import availability, implementations_for, modes

pytestmark = pytest.mark.skipif(not availability("torch")[0], reason="torch not installed")
TORCH_ROWS = sorted(i for i in modes.PARAM_GRADS if i.startswith("torch."))

INPUTS = {
    "cross_entropy": ({"logits": np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]), "target": np.array([0, 2])},
                      {"logits": np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]),
                       "target": np.array([[0.25, 0.25, 0.5], [1.0, 0.0, 0.0]])}),
    "nll_loss": ({"logp": np.array([[-1.0, -2.0, -0.5], [-0.25, -3.0, -1.5]]), "target": np.array([2, 1])},),
    "binary_cross_entropy": ({"p": np.array([0.25, 0.5, 0.75]), "y": np.array([0.0, 1.0, 0.5])},),
    "binary_cross_entropy_with_logits": ({"x": np.array([0.25, -2.0, 3.0]), "y": np.array([0.0, 1.0, 0.5])},),
}


def _row(impl_id):
    return next(i for i in implementations_for("torch") if i.id == impl_id)


def _call(impl, param):
    for inputs in INPUTS[impl.op]:
        if impl.accepts is not None and not impl.accepts(inputs, {}):
            continue
        n = 3
        params = {"reduction": "sum", param: [0.5, 2.0, 1.5][:n], **impl.fixed_params}
        grads = tuple(g for g in impl.grads if inputs[g].dtype.kind == "f")
        with modes.requested({"cotangent": None, "tangents": {}, "hvp": False, "param_grads": (param,)}):
            return impl.call(inputs, params, "float64", "cpu", grads)
    raise AssertionError(f"no inputs for {impl.id}")


@pytest.mark.parametrize("impl_id", TORCH_ROWS)
def test_rows_in_param_grads_give_the_weight_gradient(impl_id):
    impl = _row(impl_id)
    assert modes.param_grads_for(impl, {"weight": [1.0, 2.0, 3.0]}) == ("weight",)
    observed = _call(impl, "weight")
    assert observed.derivs["vjp:weight"].shape == (3,) and np.isfinite(observed.derivs["vjp:weight"]).all()


@pytest.mark.parametrize("impl_id,param", sorted(modes.PARAM_GRADS_UNSUPPORTED))
def test_rows_in_param_grads_unsupported_refuse(impl_id, param):
    impl = _row(impl_id)
    assert param not in modes.param_grads_for(impl, {param: [1.0, 2.0, 3.0]})
    with pytest.raises(RuntimeError, match="is not differentiable with respect to argument"):
        _call(impl, param)


@pytest.mark.skipif(not availability("tensorflow")[0], reason="tensorflow not installed")
def test_tf_weighted_ce_gives_the_pos_weight_gradient():
    """tf.nn.weighted_cross_entropy_with_logits takes pos_weight as a tensor: the mode code watches the one
    the adapter made and gets d/dpos_weight (v . loss) = v y sp(-x) per element, summed over the broadcast."""
    impl = next(i for i in implementations_for("tensorflow") if i.id == "tf.nn.weighted_cross_entropy_with_logits")
    params = {"pos_weight": [3.0], "reduction": "none"}
    assert modes.param_grads_for(impl, params) == ("pos_weight",)
    x, y = np.array([20.0, -3.0, 0.0]), np.array([1.0, 0.0, 0.5])
    v = np.array([1.0, -2.0, 0.5])
    with modes.requested({"cotangent": v, "tangents": {}, "hvp": False, "param_grads": ("pos_weight",)}):
        observed = impl.call({"x": x, "y": y}, params, "float64", "cpu", ("x", "y"))
    want = float(np.sum(v * y * np.logaddexp(0.0, -x)))
    assert observed.derivs["vjp:pos_weight"].shape == (1,)
    assert observed.derivs["vjp:pos_weight"][0] == pytest.approx(want, rel=1e-12)
