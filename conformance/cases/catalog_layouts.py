"""Readable catalog cases for layouts: inputs of 2 to 5 dims with the class axis channels-first (N, C, ...),
at other positions (axis 0, -2) and negative; batch of 1 and a large batch. Same format as catalog.py (the
class axis at 1 unless the params say otherwise; the generator moves it for implementations whose class
axis is fixed elsewhere). Memory layouts (transposed, strided, channels_last views) are drawn per case by the
strategies (conformance/cases/strategies.py), not written here."""
from __future__ import annotations

from reference.catalog import Labels, Random, RandomLabels

# probability targets of shape (1, 3, 2): each (item, position) sums to 1 along the class axis 1, and the
# trailing length 2 differs from C = 3 (a class count read from the last axis is then wrong)
_PROBS_NCL = [[[0.5, 0.0], [0.25, 1.0], [0.25, 0.0]]]

LAYOUT_CASES = [
    ("ce(N,C,H,W)", "cross_entropy", {"logits": Random((2, 3, 2, 2), 3.0, 11), "target": RandomLabels((2, 2, 2), 3, 11)},
     {}),
    ("ce(N,C,D,H,W)", "cross_entropy",
     {"logits": Random((1, 3, 2, 2, 2), 3.0, 12), "target": RandomLabels((1, 2, 2, 2), 3, 12)}, {}),
    ("ce(N,C,L,label_smoothing=0.1)", "cross_entropy",
     {"logits": Random((2, 3, 4), 3.0, 13), "target": RandomLabels((2, 4), 3, 13)}, {"label_smoothing": 0.1}),
    ("ce(probs,N,C,L,label_smoothing=0.1)", "cross_entropy",
     {"logits": [[[1, -1], [2, 0], [3, 1]]], "target": _PROBS_NCL}, {"label_smoothing": 0.1}),
    ("ce(probs,N,C,L)", "cross_entropy", {"logits": [[[1, -1], [2, 0], [3, 1]]], "target": _PROBS_NCL}, {}),
    ("ce(batch=1,N,C,H,W,weight)", "cross_entropy",
     {"logits": Random((1, 3, 2, 3), 3.0, 14), "target": RandomLabels((1, 2, 3), 3, 14)}, {"weight": [1, 2, 0.5]}),
    ("ce(N=4096,C=3)", "cross_entropy", {"logits": Random((4096, 3), 3.0, 15), "target": RandomLabels((4096,), 3, 15)},
     {}, "ci"),
    ("nll(N,C,H,W,ignore_index)", "nll_loss",
     {"logp": [[[[-0.5, -2.0]], [[-1.0, -0.25]]]], "target": Labels([[[0, 1]]])}, {"ignore_index": 1}),
    ("softmax(N,C,H,W,axis=1)", "softmax", {"x": Random((2, 3, 2, 2), 3.0, 16)}, {"axis": 1}),
    ("softmax(3-D,axis=0)", "softmax", {"x": Random((3, 2, 2), 3.0, 17)}, {"axis": 0}),
    ("softmax(3-D,axis=-2)", "softmax", {"x": Random((2, 3, 2), 3.0, 18)}, {"axis": -2}),
    ("log_softmax(N,C,D,H,W,axis=1)", "log_softmax", {"x": Random((1, 3, 2, 2, 2), 3.0, 19)}, {"axis": 1}),
    ("log_softmax(N,L,C,axis=-1,batch=1)", "log_softmax", {"x": Random((1, 4, 3), 3.0, 20)}, {"axis": -1}),
]
