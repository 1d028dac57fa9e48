"""The case catalog's linear_cross_entropy entries (reference/catalog.py adds them to CATALOG), in its tuple form."""
from __future__ import annotations

from reference.catalog_types import INF, Empty, Labels

# linear_cross_entropy (torch.nn.functional.linear_cross_entropy): input (N, D), linear_weight (C, D),
# linear_bias (C,), integer labels (N,)
_LCE_X = [[1, 2], [0.5, -1], [3, 0]]
_LCE_W = [[0.25, 1], [1, -2], [0, 0.5]]
LINEAR_CE = [
    ("lce(basic,mean)", "linear_cross_entropy", {"input": _LCE_X, "linear_weight": _LCE_W, "linear_bias": [0, 1, -1],
                                                 "target": Labels([0, 2, 1])}, {}),
    ("lce(none)", "linear_cross_entropy", {"input": _LCE_X, "linear_weight": _LCE_W, "linear_bias": [0, 1, -1],
                                           "target": Labels([0, 2, 1])}, {"reduction": "none"}),
    ("lce(equal weight rows)=ln4", "linear_cross_entropy",
     {"input": [[1.5, -2]], "linear_weight": [[1, 2]] * 4, "linear_bias": [0.5] * 4, "target": Labels([3])},
     {"reduction": "sum"}),
    ("lce(D=0: logits = bias)", "linear_cross_entropy",
     {"input": Empty((2, 0)), "linear_weight": Empty((3, 0)), "linear_bias": [1, 2, 3], "target": Labels([0, 2])},
     {"reduction": "none"}),
    ("lce(weight,ignore_index)", "linear_cross_entropy",
     {"input": _LCE_X, "linear_weight": _LCE_W, "linear_bias": [0, 0, 0], "target": Labels([0, -100, 1])},
     {"weight": [0.5, 2, 1], "ignore_index": -100}),
    ("lce(label_smoothing=0.1,sum)", "linear_cross_entropy",
     {"input": _LCE_X, "linear_weight": _LCE_W, "linear_bias": [0, 1, -1], "target": Labels([0, 2, 1])},
     {"label_smoothing": 0.1, "reduction": "sum"}),
    ("lce(empty batch)", "linear_cross_entropy",
     {"input": Empty((0, 2)), "linear_weight": [[1, 2], [3, 4]], "linear_bias": [0, 0], "target": Labels([])}, {}),
    ("lce(label=C)", "linear_cross_entropy",
     {"input": [[1, 2]], "linear_weight": [[1, 0], [0, 1]], "linear_bias": [0, 0], "target": Labels([2])}, {}),
    ("lce(x=inf,zero weight column)", "linear_cross_entropy",
     {"input": [[INF, 1]], "linear_weight": [[0, 1], [0, 2]], "linear_bias": [0, 0], "target": Labels([0])},
     {"reduction": "none"}),
    ("lce(x=inf,+inf logit at the label)", "linear_cross_entropy",
     {"input": [[INF]], "linear_weight": [[1], [-1]], "linear_bias": [0, 0], "target": Labels([0])},
     {"reduction": "sum"}),
    ("lce(logits beyond max)", "linear_cross_entropy",
     {"input": [["max", "max"]], "linear_weight": [["max", 0], [0, "max"]], "linear_bias": [0, 0],
      "target": Labels([0])}, {"reduction": "none"}),
    ("lce(logits near max, label behind)", "linear_cross_entropy",
     {"input": [["big", 1]], "linear_weight": [[1, 0], [1, 1]], "linear_bias": [0, 0], "target": Labels([0])},
     {"reduction": "none"}),
]
