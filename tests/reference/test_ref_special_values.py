"""The special-values table (docs/special-values.md), case by case: limit column and IEEE column.

Each row: op, inputs, params, then expected exact strings of the value and of each gradient ("..." skips a
finite element that is not the point of the row), and the IEEE column ("=" where it equals the limit).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from reference.errors import UndefinedError
from ref_helpers import evaluate

INF, NINF, NAN = "inf", "-inf", "nan"

ROWS = [
    # general rule 4: softmax rows
    ("softmax", {"x": [[INF, 0]]}, {}, {"value": ["1", "0"], "ieee": [NAN, NAN], "x": ["0", "0"], "ieee x": [NAN, NAN]}),
    ("softmax", {"x": [[NINF, 0]]}, {}, {"value": ["0", "1"], "x": ["0", "0"]}),
    ("softmax", {"x": [[INF, INF, 0]]}, {}, {"value": [NAN] * 3, "x": [NAN] * 3}),
    ("softmax", {"x": [[NINF, NINF]]}, {}, {"value": [NAN, NAN], "x": [NAN, NAN]}),
    ("softmax", {"x": [[NAN, 0]]}, {}, {"value": [NAN, NAN], "x": [NAN, NAN]}),
    ("log_softmax", {"x": [[INF, 0, 1]]}, {}, {"value": ["0", NINF, NINF], "ieee": [NAN] * 3,
                                                "x": ["-2", "1", "1"], "ieee x": [NAN] * 3}),
    ("log_softmax", {"x": [[NINF, 0]]}, {}, {"value": [NINF, "0"], "x": ["1", "-1"]}),
    # sigmoid, log_sigmoid
    ("sigmoid", {"x": [INF, NINF, NAN]}, {}, {"value": ["1", "0", NAN], "x": ["0", "0", NAN]}),
    ("log_sigmoid", {"x": [INF, NINF, NAN]}, {}, {"value": ["0", NINF, NAN], "x": ["0", "1", NAN]}),
    # entropy
    ("entropy", {"p": [[0, 1]]}, {}, {"value": ["0"], "p": [INF, "-1"]}),
    ("entropy", {"p": [[INF, 1]]}, {}, {"value": [NINF], "p": [NINF, "-1"]}),
    ("entropy", {"p": [[-0.5, 1.5]]}, {}, {"value": [NAN], "p": [NAN, NAN], "ieee p": ["=", "..."]}),
    ("entropy", {"p": [[NAN, 0.5]]}, {}, {"value": [NAN], "p": [NAN, NAN], "ieee p": ["=", "..."]}),
    ("entropy", {"p": [[0, 0]]}, {"normalize": True}, {"value": [NAN], "p": [NAN, NAN]}),
    ("entropy", {"p": [[INF, 1]]}, {"normalize": True}, {"value": [NAN], "p": [NAN, NAN]}),
    ("entropy", {"p": [[0, 2]]}, {"normalize": True}, {"value": ["0"], "p": [INF, "0"]}),
    # cross_entropy_dist, kl_divergence
    ("cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {}, {"value": [INF], "p": ["0", INF], "q": ["-0.5", NINF]}),
    ("cross_entropy_dist", {"p": [[1, 0]], "q": [[1, 0]]}, {}, {"value": ["0"], "p": ["0", INF], "q": ["-1", "0"],
                                                              "ieee q": ["=", NAN]}),
    ("kl_divergence", {"p": [[1, 0]], "q": [[1, 0]]}, {}, {"value": ["0"], "p": ["1", INF], "ieee p": ["=", NAN],
                                                         "q": ["-1", "0"], "ieee q": ["=", NAN]}),
    ("kl_divergence", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {}, {"value": [INF], "p": ["...", INF], "q": ["-0.5", NINF]}),
    ("kl_divergence", {"p": [[1, 0]], "q": [[INF, 1]]}, {}, {"value": [NINF], "p": [NINF, NINF], "q": ["0", "0"]}),
    ("kl_divergence", {"p": [[-0.5, 1.5]], "q": [[0.5, 0.5]]}, {}, {"value": [NAN], "p": [NAN, NAN], "ieee p": ["=", "..."],
                                                                    "q": [NAN, NAN], "ieee q": ["...", "..."]}),
    ("cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {"normalize": "q"},
     {"value": [INF], "q": ["0.5", NINF], "ieee q": [NAN, NAN]}),
    ("cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[INF, 1]]}, {"normalize": "q"},
     {"value": [NAN], "q": [NAN, NAN], "p": [NAN, NAN]}),
    ("cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {"clip": [0.25, 0.75]},
     {"value": ["..."], "q": ["0", "0"]}),
    ("cross_entropy_dist", {"p": [[1, 0]], "q": [[INF, NINF]]}, {"clip": [0.25, 0.75]},
     {"value": ["0.2876820724517809274392190059938274315035"], "q": ["0", "0"]}),
    ("cross_entropy_dist", {"p": [2], "q": [[0.5, 0.5]]}, {}, "undefined"),
    # xlogy, rel_entr, generalized_kl
    ("xlogy", {"x": [0, 0, 1, INF, 0], "y": [0, INF, 0, 1, NAN]}, {},
     {"value": ["0", "0", NINF, "0", NAN], "ieee": ["=", "=", "=", NAN, "="],
      "x": [NINF, INF, NINF, "0", NAN], "y": ["0", "0", INF, INF, NAN], "ieee y": [NAN, "=", "=", "=", "="]}),
    ("rel_entr", {"x": [0, 1, -1, 1], "y": [0, 0, 1, INF]}, {},
     {"value": ["0", INF, INF, NINF], "x": [INF, INF, NAN, NINF], "ieee x": [NAN, "=", "=", "="],
      "y": ["0", NINF, NAN, "0"], "ieee y": [NAN, "=", "1.0", "="]}),
    ("generalized_kl", {"x": [0, 0, INF, 1], "y": [0, 2, 1, INF]}, {},
     {"value": ["0", "2", INF, INF], "x": [INF, NINF, INF, NINF], "ieee x": [NAN, "=", "=", "="],
      "y": ["1", "1", NINF, "1"], "ieee y": [NAN, "=", "=", "="]}),
    # cross_entropy
    ("cross_entropy", {"logits": [[1, 2, 3]], "target": [3]}, {}, "undefined"),
    ("cross_entropy", {"logits": [[1, 2, 3]], "target": [-1]}, {}, "undefined"),
    ("cross_entropy", {"logits": [[1, 2, 3]], "target": [-1]}, {"ignore_index": -1, "reduction": "sum"},
     {"value": ["0"], "logits": ["0", "0", "0"]}),
    ("cross_entropy", {"logits": [[NAN, 2], [1, 2]], "target": [-100, 1]}, {"ignore_index": -100},
     {"value": ["..."], "logits": ["0", "0", "...", "..."]}),
    ("cross_entropy", {"logits": [[NINF, 0]], "target": [0]}, {}, {"value": [INF], "logits": ["-1", "1"]}),
    ("cross_entropy", {"logits": [[NINF, 0]], "target": [1]}, {}, {"value": ["0"], "logits": ["0", "0"]}),
    ("cross_entropy", {"logits": [[INF, 0]], "target": [0]}, {}, {"value": ["0"], "ieee": [NAN],
                                                               "logits": ["0", "0"], "ieee logits": [NAN, NAN]}),
    ("cross_entropy", {"logits": [[INF, 0]], "target": [1]}, {}, {"value": [INF], "ieee": [NAN],
                                                               "logits": ["1", "-1"], "ieee logits": [NAN, NAN]}),
    ("cross_entropy", {"logits": [[INF, INF]], "target": [1]}, {}, {"value": [NAN], "logits": [NAN, NAN]}),
    ("cross_entropy", {"logits": [[NINF, NINF]], "target": [1]}, {}, {"value": [NAN], "logits": [NAN, NAN]}),
    ("cross_entropy", {"logits": [[NINF, 0, 1]], "target": [2]}, {"label_smoothing": 0.1},
     {"value": [INF], "logits": ["...", "...", "..."]}),
    ("cross_entropy", {"logits": [[NINF, 0, 1]], "target": [2]}, {"label_smoothing": 0.1, "weight": [0, 1, 1]},
     {"value": ["..."], "ieee": [NAN], "logits": ["0", "...", "..."]}),
    ("cross_entropy", {"logits": {"shape": [0, 3], "data": []}, "target": []}, {}, {"value": [NAN]}),
    ("cross_entropy", {"logits": {"shape": [0, 3], "data": []}, "target": []}, {"reduction": "sum"}, {"value": ["0"]}),
    ("cross_entropy", {"logits": [[1, 2], [3, 4]], "target": [-100, -100]}, {"ignore_index": -100},
     {"value": [NAN], "logits": [NAN] * 4}),
    ("cross_entropy", {"logits": [[1, 2, 3]], "target": [0]}, {"weight": [0, 1, 1]},
     {"value": [NAN], "logits": [NAN] * 3}),
    ("cross_entropy", {"logits": [[1, 2, 3]], "target": [0]}, {"weight": [0, 1, 1], "label_smoothing": 0.1},
     {"value": [NAN], "ieee": [INF], "logits": [NAN] * 3, "ieee logits": [INF, NINF, INF]}),
    ("cross_entropy", {"logits": [[NINF, 0, 1]], "target": [[0, 0.5, 0.5]]}, {},
     {"value": ["..."], "ieee": [NAN], "target": [INF, "...", "..."], "ieee target": [NAN, NAN, NAN]}),
    ("cross_entropy", {"logits": [[NINF, 0]], "target": [[0.5, 0.5]]}, {}, {"value": [INF]}),
    ("cross_entropy", {"logits": [[1, 0]], "target": [[INF, 1]]}, {"reduction": "sum"},
     {"value": [INF], "logits": [NAN, INF], "target": ["...", "..."]}),
    ("cross_entropy", {"logits": [[1, 2]], "target": [[0, 0]]}, {}, {"value": [NAN]}),
    # nll_loss
    ("nll_loss", {"logp": [[NINF, 0]], "target": [0]}, {"reduction": "sum"}, {"value": [INF], "logp": ["-1", "0"]}),
    ("nll_loss", {"logp": [[NINF, 0], [-1, -2]], "target": [0, 1]}, {"weight": [0, 1], "reduction": "sum"},
     {"value": ["2"], "ieee": [NAN], "logp": ["0", "0", "0", "-1"]}),
    ("nll_loss", {"logp": [[INF, 0]], "target": [0]}, {}, {"value": [NINF], "logp": ["-1", "0"]}),
    ("nll_loss", {"logp": [[NAN, 0]], "target": [0]}, {}, {"value": [NAN], "logp": [NAN, NAN], "ieee logp": ["-1.0", "0.0"]}),
    ("nll_loss", {"logp": [[NAN, -1]], "target": [1]}, {}, {"value": ["1"], "logp": ["0", "-1"]}),
    ("nll_loss", {"logp": [[-1, -2]], "target": [2]}, {}, "undefined"),
    # binary_cross_entropy
    ("binary_cross_entropy", {"p": [0], "y": [0]}, {}, {"value": ["0"], "ieee": [NAN], "p": ["1"], "ieee p": [NAN],
                                                       "y": [INF]}),
    ("binary_cross_entropy", {"p": [0], "y": [1]}, {}, {"value": [INF], "p": [NINF], "y": [INF]}),
    ("binary_cross_entropy", {"p": [1], "y": [1]}, {}, {"value": ["0"], "ieee": [NAN], "p": ["-1"], "ieee p": [NAN],
                                                       "y": [NINF]}),
    ("binary_cross_entropy", {"p": [1], "y": [0]}, {}, {"value": [INF], "p": [INF], "y": [NINF]}),
    ("binary_cross_entropy", {"p": [1.5, INF], "y": [1, 1]}, {"reduction": "sum"},
     {"value": [NAN], "p": [NAN, NAN], "ieee p": ["...", "0.0"], "y": [NAN, NAN]}),
    ("binary_cross_entropy", {"p": [0.5], "y": [INF]}, {}, {"value": [NAN], "p": [NAN], "ieee p": [NINF], "y": [NAN],
                                                         "ieee y": ["0.0"]}),
    ("binary_cross_entropy", {"p": [0], "y": [1]}, {"log_clamp": -100}, {"value": ["100"], "p": ["0"],
                                                                          "ieee p": [NAN], "y": ["100"]}),
    ("binary_cross_entropy", {"p": [INF], "y": [1]}, {"clip": [0.25, 0.75]},
     {"value": ["0.2876820724517809274392190059938274315035"], "p": ["0"]}),
    ("binary_cross_entropy", {"p": [], "y": []}, {}, {"value": [NAN]}),
    ("binary_cross_entropy", {"p": [], "y": []}, {"reduction": "sum"}, {"value": ["0"]}),
    # binary_cross_entropy_with_logits
    ("binary_cross_entropy_with_logits", {"x": [INF, INF, NINF, NINF], "y": [1, 0, 0, 1]}, {"reduction": "none"},
     {"value": ["0", INF, "0", INF], "ieee": [NAN, "=", NAN, "="], "x": ["0", "1", "0", "-1"],
      "y": [NINF, NINF, INF, INF]}),
    ("binary_cross_entropy_with_logits", {"x": [[NINF]], "y": [[1]]}, {"pos_weight": [0]},
     {"value": ["0"], "ieee": [NAN], "x": ["0"], "y": ["0"], "ieee y": [NAN]}),
    ("binary_cross_entropy_with_logits", {"x": [1, NAN], "y": [INF, 1]}, {"reduction": "none"},
     {"value": [NAN, NAN], "x": [NAN, NAN], "ieee x": [NINF, "="], "y": [NAN, NAN], "ieee y": ["-1.0", "="]}),
    # kl_div
    ("kl_div", {"input": [NINF, NINF, INF, 0], "target": [0, 0.5, 0.5, INF]}, {"reduction": "none"},
     {"value": ["0", INF, NINF, INF], "ieee": [NAN, "=", "=", NAN], "input": ["0", "-0.5", "-0.5", NINF],
      "target": [NAN, INF, NINF, INF]}),
    ("kl_div", {"input": [-1], "target": [0]}, {"reduction": "sum"}, {"value": ["0"], "input": ["0"], "target": [NINF]}),
    ("kl_div", {"input": [-1, NAN], "target": [NINF, 0.5]}, {"log_target": True, "reduction": "none"},
     {"value": ["0", NAN], "ieee": [NAN, "="], "input": ["0", NAN], "ieee input": ["=", "..."],
      "target": ["0", NAN], "ieee target": [NAN, "="]}),
    ("kl_div", {"input": {"shape": [0, 2], "data": []}, "target": {"shape": [0, 2], "data": []}},
     {"reduction": "batchmean"}, {"value": [NAN]}),
    # focal losses
    ("sigmoid_focal_loss", {"x": [INF, NINF, INF, NINF], "y": [1, 0, 0, 1]}, {"reduction": "none"},
     {"value": ["0", "0", INF, INF], "ieee": [NAN, NAN, "=", "="], "x": ["0", "0", "0.75", "-0.25"],
      "ieee x": [NAN, NAN, NAN, NAN], "y": ["0", "0", NINF, NAN], "ieee y": [NAN, NAN, "=", "="]}),
    ("softmax_focal_loss", {"logits": [[INF, 0]], "target": [[1, 0]]}, {},
     {"value": ["0"], "ieee": [NAN], "logits": ["0", "0"], "ieee logits": [NAN, NAN]}),
    ("softmax_focal_loss", {"logits": [[NINF, 0]], "target": [[1, 0]]}, {},
     {"value": [INF], "logits": ["-0.25", "0.25"], "ieee logits": [NAN, NAN]}),
    ("softmax_focal_loss", {"logits": [[5]], "target": [[1]]}, {}, {"value": ["0"], "logits": ["0"], "target": ["0"]}),
    ("softmax_focal_loss", {"logits": [[NAN, 0]], "target": [[0, 1]]}, {}, {"value": [NAN], "logits": [NAN, NAN]}),
]


def _ieee_kinds(arr) -> list:
    """'=' where the ieee column equals the limit, else the IEEE value as text."""
    out = []
    rounded = np.asarray(arr.rounded).astype(np.float64).ravel()
    ieee = None if arr.ieee is None else np.asarray(arr.ieee).astype(np.float64).ravel()
    for i, r in enumerate(rounded):
        v = r if ieee is None else ieee[i]
        same = (math.isnan(v) and math.isnan(r)) or v == r
        out.append("=" if same else ("nan" if math.isnan(v) else repr(float(v)).replace("-inf", NINF)))
    return out


def _check(got: list, want: list, what: str):
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        if w != "...":
            assert g == w, f"{what}: got {got}, want {want}"


@pytest.mark.parametrize("op,inputs,params,expect", ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
def test_special_values_table(op, inputs, params, expect):
    if expect == "undefined":
        with pytest.raises(UndefinedError):
            evaluate(op, "float32", inputs, params)
        return
    for dtype in ("float64", "float16"):
        r = evaluate(op, dtype, inputs, params)
        _check(list(np.ravel(r.value.exact)), expect["value"], f"{op} value")
        _check(_ieee_kinds(r.value), expect.get("ieee", ["="] * len(expect["value"])), f"{op} ieee value")
        for name, g in r.grads.items():
            if name in expect:
                _check(list(np.ravel(g.exact)), expect[name], f"{op} grad {name}")
                _check(_ieee_kinds(g), expect.get(f"ieee {name}", ["="] * len(expect[name])), f"{op} ieee grad {name}")
        assert r.certified
