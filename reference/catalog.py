"""The one case catalog, as data: one readable case per line, for the golden corpus and every conformance run.

Each entry: (id, op, inputs, params[, min_profile]), turned into a typed `Entry` below. Values are numbers,
"inf"/"-inf"/"nan", or dtype-dependent names resolved per dtype by the conformance stage
(conformance.floats.named_value: "max", "-max", "big", "big+ulp", "tiny", "denorm_min", "1-ulp", "log_max").
`Labels([...])` marks integer class labels (the markers live in reference/catalog_types.py; the
linear_cross_entropy entries in reference/catalog_linear.py). `Random(shape, scale, seed)` is a seeded normal draw (large
vocabularies); `RandomLabels` its labels; `Empty(shape)` a zero-sized array. Class-axis ops are written with
the class axis at 1 (N, C, d1, ...); the conformance stage moves it for implementations whose class axis is -1.
min_profile "ci" keeps a case out of the quick profile, "thorough" out of quick and ci.

An entry is `golden` (regenerated into reference/golden/ by `python -m reference golden`, in every dtype) when
its inputs mean the same numbers in every dtype: no named values, no random draws, not "thorough".
Ids are unique (tests/reference/test_catalog.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from reference.catalog_linear import LINEAR_CE
from reference.catalog_masks import SAMPLE_WEIGHT_CASES, WHERE_CASES
from reference.catalog_types import INF, NAN, NINF, Empty, Labels, Random, RandomLabels  # noqa: F401 (the catalog's vocabulary)
from reference.dtypes import DTYPE_NAMES

DTYPES = DTYPE_NAMES

# The PyTorch CrossEntropyLoss example of shared/seeds/003 (loss printed 1.8338, gradients to 4 decimals).
SEED_LOGITS = [[0.8671, 0.0189, 0.0042, 0.1619, 0.9805],
               [0.1054, 0.1519, 0.6359, 0.6112, 0.9417],
               [0.9968, 0.3285, 0.9185, 0.0315, 0.9592]]
SEED_TARGET = [1, 0, 4]

SOFTMAX_ROWS = [
    ("x=[0,0]", [[0, 0]]),
    ("x=[1,2,3]", [[1, 2, 3]]),
    ("C=1", [[5]]),
    ("x=[max,max]", [["max", "max"]]),
    ("x=[big,big+ulp]", [["big", "big+ulp"]]),
    ("x=[-max,max]", [["-max", "max"]]),
    ("x=[inf,0]", [[INF, 0]]),
    ("x=[inf,inf]", [[INF, INF]]),
    ("x=[-inf,0]", [[NINF, 0]]),
    ("x=[-inf,-inf]", [[NINF, NINF]]),
    ("x=[nan,0]", [[NAN, 0]]),
    ("x=[denorm_min,0]", [["denorm_min", 0]]),
    ("x=[log_max,0]", [["log_max", 0]]),
    ("x=[-40,0,40]", [[-40, 0, 40]]),
]

SIGMOID_POINTS = [0, 1, -1, 16, -16, 40, -40, 100, -100, "log_max", "-log_max", "max", "-max", INF, NINF, NAN,
                  "denorm_min", "tiny"]


def _rows(op, prefix):
    return [(f"{prefix}({name})", op, {"x": rows}, {}) for name, rows in SOFTMAX_ROWS] + [
        (f"{prefix}(empty rows)", op, {"x": Empty((2, 0))}, {}),
        (f"{prefix}(C=32768)", op, {"x": Random((2, 32768), 4.0, 1)}, {}, "thorough"),
        (f"{prefix}(C=513,GPU block path)", op, {"x": Random((2, 513), 4.0, 7)}, {}),
    ]


def _points(op, prefix):
    return [(f"{prefix}(x={v})", op, {"x": [v]}, {}) for v in SIGMOID_POINTS]


CROSS_ENTROPY = [
    ("ce(logits=[1,2,3],y=0)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([0])}, {}),
    ("ce(equal logits,C=5)", "cross_entropy", {"logits": [[0.5] * 5], "target": Labels([3])}, {}),
    ("ce(C=1)", "cross_entropy", {"logits": [[2.5]], "target": Labels([0])}, {}),
    ("ce(logits=[big,big+ulp],y=0)", "cross_entropy", {"logits": [["big", "big+ulp"]], "target": Labels([0])}, {}),
    ("ce(logits=[max,-max],y=1)", "cross_entropy", {"logits": [["max", "-max"]], "target": Labels([1])}, {}),
    ("ce(logits=[inf,0],y=0)", "cross_entropy", {"logits": [[INF, 0]], "target": Labels([0])}, {}),
    ("ce(logits=[inf,0],y=1)", "cross_entropy", {"logits": [[INF, 0]], "target": Labels([1])}, {}),
    ("ce(logits=[-inf,0],y=0)", "cross_entropy", {"logits": [[NINF, 0]], "target": Labels([0])}, {}),
    ("ce(logits=[-inf,0],y=1)", "cross_entropy", {"logits": [[NINF, 0]], "target": Labels([1])}, {}),
    ("ce(row all -inf)", "cross_entropy", {"logits": [[NINF, NINF]], "target": Labels([0])}, {}),
    ("ce(logits=[nan,0],y=1)", "cross_entropy", {"logits": [[NAN, 0]], "target": Labels([1])}, {}),
    ("ce(empty batch,mean)", "cross_entropy", {"logits": Empty((0, 3)), "target": Labels([])},
     {"reduction": "mean"}),
    ("ce(empty batch,sum)", "cross_entropy", {"logits": Empty((0, 3)), "target": Labels([])},
     {"reduction": "sum"}),
    ("ce(all ignored,mean)", "cross_entropy", {"logits": [[1, 2], [3, 4]], "target": Labels([-100, -100])},
     {"ignore_index": -100, "reduction": "mean"}),
    ("ce(all ignored,sum)", "cross_entropy", {"logits": [[1, 2], [3, 4]], "target": Labels([-100, -100])},
     {"ignore_index": -100, "reduction": "sum"}),
    ("ce(one ignored)", "cross_entropy", {"logits": [[1, 2], [3, 4]], "target": Labels([1, -100])},
     {"ignore_index": -100}),
    ("ce(weight,mean)", "cross_entropy", {"logits": [[1, 2, 3], [1, 0, -1]], "target": Labels([0, 2])},
     {"weight": [0.25, 1, 4]}),
    ("ce(zero weight sum)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([0])},
     {"weight": [0, 1, 1]}),
    ("ce(huge weight)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([1])},
     {"weight": [1, "big", 1], "reduction": "sum"}),
    ("ce(label_smoothing=0.1)", "cross_entropy", {"logits": [[1, 2, 3], [3, 2, 1]], "target": Labels([0, 0])},
     {"label_smoothing": 0.1}),
    ("ce(label_smoothing=1)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([0])},
     {"label_smoothing": 1.0}),
    ("ce(label_smoothing=tiny)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([2])},
     {"label_smoothing": 1e-7}),
    ("ce(label_smoothing,-inf logit)", "cross_entropy", {"logits": [[NINF, 0, 1]], "target": Labels([2])},
     {"label_smoothing": 0.1}),
    ("ce(reduction=none)", "cross_entropy", {"logits": [[1, 2, 3], [0, 0, 0]], "target": Labels([2, 1])},
     {"reduction": "none"}),
    ("ce(label=C)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([3])}, {}),
    ("ce(label=-1)", "cross_entropy", {"logits": [[1, 2, 3]], "target": Labels([-1])}, {}),
    ("ce(spatial N,C,d)", "cross_entropy", {"logits": [[[1, 2], [0, 5], [-1, 3]]], "target": Labels([[0, 2]])},
     {}),
    ("ce(probs one-hot)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[1, 0, 0]]}, {}),
    ("ce(probs soft)", "cross_entropy", {"logits": [[1, 2, 3], [0, 0, 0]], "target": [[0.25, 0.25, 0.5], [0, 1, 0]]},
     {}),
    ("ce(probs zero where logit -inf)", "cross_entropy", {"logits": [[NINF, 0, 1]], "target": [[0, 0.5, 0.5]]}, {}),
    ("ce(probs mass where logit -inf)", "cross_entropy", {"logits": [[NINF, 0, 1]], "target": [[0.5, 0.5, 0]]}, {}),
    ("ce(probs not summing to 1)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[0.5, 0.5, 0.5]]}, {}),
    ("ce(probs,weight)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[0.25, 0.25, 0.5]]},
     {"weight": [0.5, 1, 2]}),
    ("ce(probs,label_smoothing=0.2)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[0, 0, 1]]},
     {"label_smoothing": 0.2}),
    ("ce(C=32768)", "cross_entropy", {"logits": Random((2, 32768), 4.0, 2), "target": RandomLabels((2,), 32768, 2)},
     {}, "thorough"),
    ("ce(C=769,GPU block path)", "cross_entropy", {"logits": Random((3, 769), 3.0, 4), "target": Labels([0, 400, 768])},
     {}),
    ("ce(C=1023,GPU block path)", "cross_entropy", {"logits": Random((2, 1023), 3.0, 5), "target": Labels([1, 1022])},
     {}),
    ("ce(C=262144)", "cross_entropy", {"logits": Random((1, 262144), 4.0, 6), "target": Labels([262143])}, {},
     "thorough"),
    ("ce(C=1000,huge logits)", "cross_entropy", {"logits": Random((2, 1000), 1e4, 3), "target": Labels([0, 999])}, {}),
]

NLL = [
    ("nll(logp=[-1,-2,-3],y=0)", "nll_loss", {"logp": [[-1, -2, -3]], "target": Labels([0])}, {}),
    ("nll(mean of three)", "nll_loss", {"logp": [[-1, -2], [-3, -4], [-5, -7]], "target": Labels([0, 1, 1])}, {}),
    ("nll(logp=-inf at target)", "nll_loss", {"logp": [[NINF, 0]], "target": Labels([0])}, {}),
    ("nll(logp=nan elsewhere)", "nll_loss", {"logp": [[NAN, -1]], "target": Labels([1])}, {}),
    ("nll(weight)", "nll_loss", {"logp": [[-1, -2, -3], [-0.5, -1, -2]], "target": Labels([2, 0])},
     {"weight": [1, 2, 3]}),
    ("nll(all ignored)", "nll_loss", {"logp": [[-1, -2]], "target": Labels([-100])}, {"ignore_index": -100}),
    ("nll(empty batch)", "nll_loss", {"logp": Empty((0, 2)), "target": Labels([])}, {}),
    ("nll(label=C)", "nll_loss", {"logp": [[-1, -2]], "target": Labels([2])}, {}),
    ("nll(label=-1)", "nll_loss", {"logp": [[-1, -2]], "target": Labels([-1])}, {}),
    ("nll(reduction=sum,max)", "nll_loss", {"logp": [["-max", "-max"]], "target": Labels([0])},
     {"reduction": "sum"}),
]

BCE = [
    ("bce(p=0,y=1)", "binary_cross_entropy", {"p": [0], "y": [1]}, {}),
    ("bce(p=0,y=0)", "binary_cross_entropy", {"p": [0], "y": [0]}, {}),
    ("bce(p=1,y=1)", "binary_cross_entropy", {"p": [1], "y": [1]}, {}),
    ("bce(p=1,y=0)", "binary_cross_entropy", {"p": [1], "y": [0]}, {}),
    ("bce(p=1-ulp,y=0)", "binary_cross_entropy", {"p": ["1-ulp"], "y": [0]}, {}),
    ("bce(p=denorm_min,y=1)", "binary_cross_entropy", {"p": ["denorm_min"], "y": [1]}, {}),
    ("bce(p=tiny,y=1)", "binary_cross_entropy", {"p": ["tiny"], "y": [1]}, {}),
    ("bce(p=0.5,y=0.5)", "binary_cross_entropy", {"p": [0.5], "y": [0.5]}, {}),
    ("bce(p=0.25,y=1,none)", "binary_cross_entropy", {"p": [0.25, 0.75], "y": [1, 0]}, {"reduction": "none"}),
    ("bce(p=nan)", "binary_cross_entropy", {"p": [NAN], "y": [1]}, {}),
    ("bce(p=1.5)", "binary_cross_entropy", {"p": [1.5], "y": [1]}, {}),
    ("bce(weight)", "binary_cross_entropy", {"p": [0.25, 0.75], "y": [1, 1]}, {"weight": [2, 0.5]}),
    ("bce(empty)", "binary_cross_entropy", {"p": Empty((0,)), "y": Empty((0,))}, {}),
    ("bce(label_smoothing=0.1)", "binary_cross_entropy", {"p": [0.25, 0.75], "y": [1, 0]}, {"label_smoothing": 0.1}),
]

BCE_LOGITS = [
    ("bcel(x=0,y=1)", "binary_cross_entropy_with_logits", {"x": [0], "y": [1]}, {}),
    ("bcel(x=40,y=0)", "binary_cross_entropy_with_logits", {"x": [40], "y": [0]}, {}),
    ("bcel(x=-40,y=1)", "binary_cross_entropy_with_logits", {"x": [-40], "y": [1]}, {}),
    ("bcel(x=100,y=1)", "binary_cross_entropy_with_logits", {"x": [100], "y": [1]}, {}),
    ("bcel(x=max,y=0)", "binary_cross_entropy_with_logits", {"x": ["max"], "y": [0]}, {}),
    ("bcel(x=-max,y=0)", "binary_cross_entropy_with_logits", {"x": ["-max"], "y": [0]}, {}),
    ("bcel(x=inf,y=1)", "binary_cross_entropy_with_logits", {"x": [INF], "y": [1]}, {}),
    ("bcel(x=inf,y=0)", "binary_cross_entropy_with_logits", {"x": [INF], "y": [0]}, {}),
    ("bcel(x=-inf,y=0)", "binary_cross_entropy_with_logits", {"x": [NINF], "y": [0]}, {}),
    ("bcel(x=nan,y=1)", "binary_cross_entropy_with_logits", {"x": [NAN], "y": [1]}, {}),
    ("bcel(x=denorm_min,y=0.5)", "binary_cross_entropy_with_logits", {"x": ["denorm_min"], "y": [0.5]}, {}),
    ("bcel(pos_weight=3)", "binary_cross_entropy_with_logits", {"x": [[0.5, -2]], "y": [[1, 0]]},
     {"pos_weight": [3, 3]}),
    ("bcel(pos_weight=0)", "binary_cross_entropy_with_logits", {"x": [[0.5, -2]], "y": [[1, 1]]},
     {"pos_weight": [0, 0]}),
    ("bcel(weight,sum)", "binary_cross_entropy_with_logits", {"x": [1, -1], "y": [1, 1]},
     {"weight": [0.5, 4], "reduction": "sum"}),
    ("bcel(label_smoothing=0.2)", "binary_cross_entropy_with_logits", {"x": [3, -3], "y": [1, 0]},
     {"label_smoothing": 0.2}),
    ("bcel(empty)", "binary_cross_entropy_with_logits", {"x": Empty((0,)), "y": Empty((0,))}, {}),
]

KL_DIV = [
    ("kl_div(target=0,input=-inf)", "kl_div", {"input": [[NINF, 0]], "target": [[0, 1]]}, {"reduction": "sum"}),
    ("kl_div(target>0,input=-inf)", "kl_div", {"input": [[NINF, 0]], "target": [[0.5, 0.5]]}, {"reduction": "sum"}),
    ("kl_div(p=q)", "kl_div", {"input": [[-1.25, -0.75]], "target": [[0.25, 0.75]]}, {"reduction": "batchmean"}),
    ("kl_div(batchmean)", "kl_div", {"input": [[-1, -2], [-0.5, -3]], "target": [[0.5, 0.5], [0.9, 0.1]]},
     {"reduction": "batchmean"}),
    ("kl_div(mean)", "kl_div", {"input": [[-1, -2], [-0.5, -3]], "target": [[0.5, 0.5], [0.9, 0.1]]},
     {"reduction": "mean"}),
    ("kl_div(none)", "kl_div", {"input": [[-1, -2]], "target": [[0, 0.5]]}, {"reduction": "none"}),
    ("kl_div(log_target)", "kl_div", {"input": [[-1, -2]], "target": [[-0.5, NINF]]},
     {"log_target": True, "reduction": "sum"}),
    ("kl_div(target=nan)", "kl_div", {"input": [[-1, -2]], "target": [[NAN, 0.5]]}, {"reduction": "sum"}),
]

INFORMATION = [
    ("entropy(uniform 5,bits)", "entropy", {"p": [[0.2] * 5]}, {"base": 2}),
    ("entropy(uniform 4)", "entropy", {"p": [[0.25] * 4]}, {}),
    ("entropy(one-hot)", "entropy", {"p": [[0, 1, 0]]}, {}),
    ("entropy(p with zeros)", "entropy", {"p": [[0, 0.5, 0.5]]}, {}),
    ("entropy(p=nan)", "entropy", {"p": [[NAN, 0.5]]}, {}),
    ("entropy(unnormalised)", "entropy", {"p": [[1, 1, 2]]}, {"normalize": True}),
    ("H(p,q)(seed -ln 0.2)", "cross_entropy_dist", {"p": [[0, 0, 1]], "q": [[0.6, 0.2, 0.2]]}, {}),
    ("H(p,q)(uniform 4,bits)", "cross_entropy_dist", {"p": [[0.25] * 4], "q": [[0.25] * 4]}, {"base": 2}),
    ("H(p,q)(q=0 where p>0)", "cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {}),
    ("H(p,q)(q=0 where p=0)", "cross_entropy_dist", {"p": [[1, 0]], "q": [[1, 0]]}, {}),
    ("H(p,q)(q=1-ulp)", "cross_entropy_dist", {"p": [[1, 0]], "q": [["1-ulp", "denorm_min"]]}, {}),
    ("H(p,q)(labels)", "cross_entropy_dist", {"p": Labels([1, 0]), "q": [[0.25, 0.75], [0.5, 0.5]]},
     {"reduction": "mean"}),
    ("KL(p,p)", "kl_divergence", {"p": [[0.25, 0.75]], "q": [[0.25, 0.75]]}, {}),
    ("KL(p,q)", "kl_divergence", {"p": [[0.5, 0.5]], "q": [[0.25, 0.75]]}, {}),
    ("KL(q=0 where p>0)", "kl_divergence", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {}),
    ("KL(p=0 where q=0)", "kl_divergence", {"p": [[1, 0]], "q": [[1, 0]]}, {}),
    ("KL(unnormalised,both)", "kl_divergence", {"p": [[1, 3]], "q": [[2, 2]]}, {"normalize": "both"}),
    ("xlogy(0,0)", "xlogy", {"x": [0], "y": [0]}, {}),
    ("xlogy(0,inf)", "xlogy", {"x": [0], "y": [INF]}, {}),
    ("xlogy(0,nan)", "xlogy", {"x": [0], "y": [NAN]}, {}),
    ("xlogy(2,0.5)", "xlogy", {"x": [2], "y": [0.5]}, {}),
    ("rel_entr(0,0)", "rel_entr", {"x": [0], "y": [0]}, {}),
    ("rel_entr(1,0)", "rel_entr", {"x": [1], "y": [0]}, {}),
    ("rel_entr(-1,1)", "rel_entr", {"x": [-1], "y": [1]}, {}),
    ("rel_entr(0.5,0.25)", "rel_entr", {"x": [0.5], "y": [0.25]}, {}),
    ("generalized_kl(1,1)", "generalized_kl", {"x": [1], "y": [1]}, {}),
    ("generalized_kl(0,2)", "generalized_kl", {"x": [0], "y": [2]}, {}),
    ("generalized_kl(0.5,0.25)", "generalized_kl", {"x": [0.5], "y": [0.25]}, {}),
]

FOCAL = [
    ("sigmoid_focal(gamma=0,alpha=null)", "sigmoid_focal_loss", {"x": [0.5, -1], "y": [1, 0]},
     {"gamma": 0, "alpha": None}),
    ("sigmoid_focal(default)", "sigmoid_focal_loss", {"x": [0.5, -1, 3], "y": [1, 0, 1]}, {}),
    ("sigmoid_focal(x=40,y=0)", "sigmoid_focal_loss", {"x": [40], "y": [0]}, {}),
    ("sigmoid_focal(x=-inf,y=0)", "sigmoid_focal_loss", {"x": [NINF], "y": [0]}, {}),
    ("softmax_focal(default)", "softmax_focal_loss", {"logits": [[1, 2, 3]], "target": [[0, 0, 1]]}, {}),
    ("softmax_focal(gamma=0)", "softmax_focal_loss", {"logits": [[1, 2, 3]], "target": [[0.5, 0, 0.5]]},
     {"gamma": 0}),
    ("softmax_focal(big logits)", "softmax_focal_loss", {"logits": [["big", 0, "-big"]], "target": [[0, 1, 0]]},
     {}),
]

# ops and params added by issue 17
NEW_OPS = [
    ("logsumexp(x=[1,2,3])", "logsumexp", {"x": [[1, 2, 3]]}, {}),
    ("logsumexp(equal)", "logsumexp", {"x": [[0.5, 0.5, 0.5, 0.5]]}, {}),
    ("logsumexp(big+ulp)", "logsumexp", {"x": [["big", "big+ulp"]]}, {}),
    ("logsumexp(max,max)", "logsumexp", {"x": [["max", "max"]]}, {}),
    ("logsumexp(x=[inf,0])", "logsumexp", {"x": [[INF, 0]]}, {}),
    ("logsumexp(all -inf)", "logsumexp", {"x": [[NINF, NINF]]}, {}),
    ("logsumexp(x=[nan,0])", "logsumexp", {"x": [[NAN, 0]]}, {}),
    ("xlog1py(0,-1)", "xlog1py", {"x": [0], "y": [-1]}, {}),
    ("xlog1py(2,-1)", "xlog1py", {"x": [2], "y": [-1]}, {}),
    ("xlog1py(1,-2)", "xlog1py", {"x": [1], "y": [-2]}, {}),
    ("xlog1py(2,0.5)", "xlog1py", {"x": [2], "y": [0.5]}, {}),
    ("xlog1py(1,denorm_min)", "xlog1py", {"x": [1], "y": ["denorm_min"]}, {}),
    ("xlog1py(0,nan)", "xlog1py", {"x": [0], "y": [NAN]}, {}),
    ("gce(q=0.5)", "generalized_cross_entropy", {"p": [[0.25, 0.75]], "target": Labels([1])}, {}),
    ("gce(q=1)", "generalized_cross_entropy", {"p": [[0.25, 0.75], [0.5, 0.5]], "target": Labels([0, 1])},
     {"q": 1.0}),
    ("gce(p_y=0)", "generalized_cross_entropy", {"p": [[0, 1]], "target": Labels([0])}, {"q": 0.7}),
    ("gce(label=C)", "generalized_cross_entropy", {"p": [[0.5, 0.5]], "target": Labels([2])}, {}),
    ("gce(C=1,three items,sum)", "generalized_cross_entropy", {"p": [[1], [1], [1]], "target": Labels([0, 0, 0])},
     {"q": 0.5, "reduction": "sum"}),
    ("entr(0)", "entr", {"x": [0]}, {}),
    ("entr(0.5)", "entr", {"x": [0.5]}, {}),
    ("entr(1)", "entr", {"x": [1]}, {}),
    ("entr(-1)", "entr", {"x": [-1]}, {}),
    ("entr(denorm_min)", "entr", {"x": ["denorm_min"]}, {}),
    ("entr(max)", "entr", {"x": ["max"]}, {}),
    ("entr(inf)", "entr", {"x": [INF]}, {}),
    ("entr(nan)", "entr", {"x": [NAN]}, {}),
    ("poly(equal logits,one-hot)", "poly_loss", {"logits": [[0, 0, 0, 0]], "target": [[1, 0, 0, 0]]}, {}),
    ("poly(epsilon=-1)", "poly_loss", {"logits": [[1, 2, 3]], "target": [[0.25, 0.25, 0.5]]}, {"epsilon": -1.0}),
    ("poly(zero target where logit -inf)", "poly_loss", {"logits": [[NINF, 0, 1]], "target": [[0, 0.5, 0.5]]}, {}),
    ("poly(big logits)", "poly_loss", {"logits": [["big", 0, "-big"]], "target": [[0, 1, 0]]}, {}),
    ("mlsm(3 classes)", "multilabel_soft_margin_loss", {"x": [[0.5, -2, 7.25]], "y": [[1, 0, 0.5]]}, {}),
    ("mlsm(weight,none)", "multilabel_soft_margin_loss", {"x": [[0.5, -2], [1, 40]], "y": [[1, 0], [0, 1]]},
     {"weight": [2, 0.5], "reduction": "none"}),
    ("mlsm(x=max)", "multilabel_soft_margin_loss", {"x": [["max", "-max"]], "y": [[0, 1]]}, {}),
    ("mlsm(x=inf)", "multilabel_soft_margin_loss", {"x": [[INF, 0]], "y": [[1, 1]]}, {}),
    ("kl_div(generalized)", "kl_div", {"input": [-1, 0.5], "target": [0.5, 2]}, {"generalized": True}),
    ("kl_div(generalized,target=0)", "kl_div", {"input": [-1, NINF], "target": [0, 0]}, {"generalized": True}),
    ("kl_div(generalized,p=q)", "kl_div", {"input": [0, 0], "target": [1, 1]}, {"generalized": True}),
    ("H(p,q)(label_smoothing=0.1)", "cross_entropy_dist", {"p": [[0, 1, 0]], "q": [[0.2, 0.5, 0.3]]},
     {"label_smoothing": 0.1}),
    ("binary_focal(p=0.25,y=1)", "binary_focal_loss", {"p": [0.25], "y": [1]}, {}),
    ("binary_focal(p=0,y=0)", "binary_focal_loss", {"p": [0], "y": [0]}, {}),
    ("binary_focal(p=0,y=1)", "binary_focal_loss", {"p": [0], "y": [1]}, {}),
    ("binary_focal(p=1-ulp,y=0)", "binary_focal_loss", {"p": ["1-ulp"], "y": [0]}, {}),
    ("binary_focal(alpha,smoothing)", "binary_focal_loss", {"p": [0.5, 0.125], "y": [1, 0]},
     {"alpha": 0.25, "label_smoothing": 0.1}),
    ("H(p,q)(label_smoothing=1,q=0)", "cross_entropy_dist", {"p": [[0, 1]], "q": [[1, 0]]}, {"label_smoothing": 1.0}),
]

# Cases first written for the golden corpus (worked examples with known closed forms, params only the
# reference has); every conformance run checks them too.
WORKED_EXAMPLES = [
    ('softmax(row=equal)', 'softmax', {'x': [[0.5, 0.5, 0.5, 0.5]]}, {}),
    ('softmax(axis=0)', 'softmax', {'x': [[1, 2], [3, 5]]}, {'axis': 0}),
    ('log_softmax(row=equal)', 'log_softmax', {'x': [[-2, -2, -2]]}, {}),
    ('log_softmax(x=[-inf,0,1])', 'log_softmax', {'x': [[NINF, 0, 1]]}, {}),
    ('entropy(p=[-0.5,1.5])', 'entropy', {'p': [[-0.5, 1.5]]}, {}),
    ('entropy(normalize,sum=0)', 'entropy', {'p': [[0, 0]]}, {'normalize': True}),
    ('H(p,q)(uniform 4 = 0.2 each,bits)', 'cross_entropy_dist', {'p': [[0.2] * 4], 'q': [[0.2] * 4]}, {'base': 2}),
    ('H(p,q)(normalize=both)', 'cross_entropy_dist', {'p': [[1, 3]], 'q': [[2, 6]]}, {'normalize': 'both'}),
    ('H(p,q)(clip)', 'cross_entropy_dist', {'p': [[0.5, 0.5]], 'q': [[1, 0]]}, {'clip': [1e-07, 0.9999999]}),
    ('xlogy(inf,1)', 'xlogy', {'x': [INF], 'y': [1]}, {}),
    ('generalized_kl(inf,1)', 'generalized_kl', {'x': [INF], 'y': [1]}, {}),
    ('H(p,q)(labels,label_smoothing=1)', 'cross_entropy_dist', {'p': Labels([2]), 'q': [[0.25, 0.25, 0.5]]},
     {'label_smoothing': 1.0}),
    ('ce(seed example)=1.8338', 'cross_entropy', {'logits': SEED_LOGITS, 'target': Labels(SEED_TARGET)}, {}),
    ('ce(logits=[1,2,3],y=0)=2.4076', 'cross_entropy', {'logits': [[1, 2, 3]], 'target': Labels([0])},
     {'reduction': 'mean'}),
    ('ce(weight,count)', 'cross_entropy', {'logits': [[1, 2, 3], [1, 0, -1]], 'target': Labels([0, 2])},
     {'weight': [0.25, 1, 4], 'mean_denominator': 'count'}),
    ('ce(probs,weight_sum,smoothing)', 'cross_entropy', {'logits': [[1, 2, 3]], 'target': [[0.25, 0.25, 0.5]]},
     {'weight': [0.5, 1, 2], 'label_smoothing': 0.2}),
    ('nll(logp=-inf,weight 0)', 'nll_loss', {'logp': [[NINF, 0]], 'target': Labels([0])}, {'weight': [0, 1]}),
    ('poly(epsilon=0)=ce', 'poly_loss', {'logits': [[1, 2, 3]], 'target': [[0, 0, 1]]}, {'epsilon': 0}),
    ('poly(logit +inf)', 'poly_loss', {'logits': [[INF, 0]], 'target': [[1, 0]]}, {}),
    ('poly(mean)', 'poly_loss', {'logits': [[1, 2], [0, -3]], 'target': [[1, 0], [0.5, 0.5]]}, {'reduction': 'mean'}),
    ('mlsm(no classes)', 'multilabel_soft_margin_loss', {'x': Empty((2, 0)), 'y': Empty((2, 0))},
     {'reduction': 'none'}),
    ('bce(p=0,y=1,log_clamp=-100)', 'binary_cross_entropy', {'p': [0], 'y': [1]}, {'log_clamp': -100}),
    ('kl_div(generalized,target=0)=exp(input)', 'kl_div', {'input': [[-1, NINF]], 'target': [[0, 0]]},
     {'generalized': True, 'reduction': 'none'}),
    ('kl_div(generalized,input=inf)', 'kl_div', {'input': [[INF]], 'target': [[0.5]]},
     {'generalized': True, 'reduction': 'none'}),
    ('kl_div(generalized,log_target)', 'kl_div', {'input': [[-1, -2]], 'target': [[-0.5, NINF]]},
     {'log_target': True, 'generalized': True, 'reduction': 'sum'}),
    ('binary_focal(gamma=0)=bce', 'binary_focal_loss', {'p': [0.25, 0.75], 'y': [1, 0]}, {'gamma': 0}),
    ('binary_focal(p=0,y=1,clip)', 'binary_focal_loss', {'p': [0], 'y': [1]}, {'clip': [1e-7, 1 - 1e-7]}),
    ('logsumexp(equal,C=4)=ln4', 'logsumexp', {'x': [[0, 0, 0, 0]]}, {}),
    ('logsumexp(axis=0)', 'logsumexp', {'x': [[1, 2], [3, 5]]}, {'axis': 0}),
    ('logsumexp(no classes)', 'logsumexp', {'x': Empty((2, 0))}, {}),
    ('gce(q=1)=1-p', 'generalized_cross_entropy', {'p': [[0.25, 0.75], [0.5, 0.5]], 'target': Labels([0, 1])},
     {'q': 1.0, 'reduction': 'mean'}),
    ('softmax_focal(gamma=0)=ce', 'softmax_focal_loss', {'logits': [[1, 2, 3]], 'target': [[0.5, 0, 0.5]]},
     {'gamma': 0, 'alpha': None}),
]


# probability targets of shape (1, 3, 2): each (item, position) sums to 1 along the class axis 1, and the
# trailing length 2 differs from C = 3 (a class count read from the last axis is then wrong)
_PROBS_NCL = [[[0.5, 0.0], [0.25, 1.0], [0.25, 0.0]]]

# Layouts (issue 14): inputs of 2 to 5 dims with the class axis channels-first (N, C, ...), at other positions
# (axis 0, -2) and negative; batch of 1 and a large batch. Memory layouts (transposed, strided, channels_last
# views) are drawn per case by the strategies (conformance/cases/strategies.py), not written here.
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

# Parameter combinations (issue 14): one readable case per edge where options interact, the edges the
# strategies draw together (conformance/cases/combinations.py). Not in the quick profile.
COMBINATION_CASES = [
    ("ce(label_smoothing=0.1,weight,one ignored)", "cross_entropy",
     {"logits": [[1, 2, 3], [3, 2, 1], [0, 0, 0]], "target": Labels([0, -100, 2])},
     {"label_smoothing": 0.1, "weight": [0.25, 1, 4], "ignore_index": -100}, "ci"),
    ("ce(label_smoothing=0.1,weight,all ignored,mean)", "cross_entropy",
     {"logits": [[1, 2, 3], [3, 2, 1]], "target": Labels([-100, -100])},
     {"label_smoothing": 0.1, "weight": [0.25, 1, 4], "ignore_index": -100}, "ci"),
    ("ce(label_smoothing=1,weight,one ignored,sum)", "cross_entropy",
     {"logits": [[1, 2, 3], [3, 2, 1]], "target": Labels([1, -100])},
     {"label_smoothing": 1.0, "weight": [0.25, 1, 4], "ignore_index": -100, "reduction": "sum"}, "ci"),
    ("ce(probs,label_smoothing=0.1,weight)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[0.25, 0.25, 0.5]]},
     {"label_smoothing": 0.1, "weight": [0.5, 1, 2]}, "ci"),
    ("ce(probs,label_smoothing=0.1,mass onto -inf logit)", "cross_entropy",
     {"logits": [[NINF, 0, 1]], "target": [[0, 0.5, 0.5]]}, {"label_smoothing": 0.1, "reduction": "none"}, "ci"),
    ("H(p,q)(probs,label_smoothing=0.2)", "cross_entropy_dist", {"p": [[0, 0.25, 0.75]], "q": [[0.5, 0.25, 0.25]]},
     {"label_smoothing": 0.2}, "ci"),
    ("bcel(soft y,x=+-inf)", "binary_cross_entropy_with_logits", {"x": [INF, NINF], "y": [0.25, 0.75]},
     {"reduction": "none"}, "ci"),
    ("bcel(soft y,x=+-max,label_smoothing=0.2)", "binary_cross_entropy_with_logits",
     {"x": ["max", "-max"], "y": [0.5, 0.5]}, {"label_smoothing": 0.2, "reduction": "none"}, "ci"),
    ("bcel(soft y,x=+-log_max)", "binary_cross_entropy_with_logits", {"x": ["log_max", "-log_max"], "y": [0.5, 0.25]},
     {"reduction": "none"}, "ci"),
    ("sigmoid_focal(soft y,x=+-inf)", "sigmoid_focal_loss", {"x": [INF, NINF, 100], "y": [0.5, 0.5, 0.25]},
     {"reduction": "none"}, "ci"),
    ("bce(soft y,p=0 and 1)", "binary_cross_entropy", {"p": [0, 1], "y": [0.5, 0.25]}, {"reduction": "none"}, "ci"),
    ("bce(soft y,p=1-ulp and denorm_min,weight)", "binary_cross_entropy",
     {"p": ["1-ulp", "denorm_min"], "y": [0.5, 0.5]}, {"weight": [2, 0.5], "reduction": "none"}, "ci"),
    ("binary_focal(soft y,p=0 and 1,label_smoothing=0.1)", "binary_focal_loss", {"p": [0, 1], "y": [0.5, 0.25]},
     {"label_smoothing": 0.1, "reduction": "none"}, "ci"),
    ("bcel(pos_weight=0,x=-inf,y=1)", "binary_cross_entropy_with_logits", {"x": [[NINF, 1]], "y": [[1, 1]]},
     {"pos_weight": [0, 0], "reduction": "none"}, "ci"),
    ("bcel(pos_weight=100,x=-max,soft y)", "binary_cross_entropy_with_logits", {"x": [["-max", 40]], "y": [[1, 0.5]]},
     {"pos_weight": [100, 100], "reduction": "none"}, "ci"),
    ("bcel(pos_weight=big,x=-40,y=1)", "binary_cross_entropy_with_logits", {"x": [[-40, 1]], "y": [[1, 1]]},
     {"pos_weight": ["big", "big"], "reduction": "none"}, "ci"),
    ("bcel(pos_weight,weight,x=+-inf,soft y,sum)", "binary_cross_entropy_with_logits",
     {"x": [[INF, NINF]], "y": [[0.5, 0.5]]}, {"pos_weight": [2, 2], "weight": [0.5, 3], "reduction": "sum"}, "ci"),
]

_TUPLES = (
    _rows("softmax", "softmax")
    + _rows("log_softmax", "log_softmax")
    + _points("sigmoid", "sigmoid")
    + _points("log_sigmoid", "log_sigmoid")
    + CROSS_ENTROPY
    + NLL
    + BCE
    + BCE_LOGITS
    + KL_DIV
    + INFORMATION
    + FOCAL
    + NEW_OPS
    + WORKED_EXAMPLES
    + LAYOUT_CASES
    + COMBINATION_CASES
    + LINEAR_CE
    + WHERE_CASES
    + SAMPLE_WEIGHT_CASES
)


@dataclass(frozen=True)
class Entry:
    id: str
    op: str
    inputs: dict = field(hash=False)
    params: dict = field(hash=False)
    min_profile: str = "quick"

    @property
    def golden(self) -> bool:
        """Whether the golden corpus holds this case: its inputs and params are the same numbers in every dtype."""
        return self.min_profile != "thorough" and not any(
            _dtype_dependent(v) for v in (*self.inputs.values(), *self.params.values()))

    def plain_inputs(self) -> dict:
        """The inputs as the reference's case JSON writes them: labels as lists of ints, an empty array as
        {"shape": [...], "data": []} (only for golden entries: named values and draws have no plain form)."""
        return {name: _plain(v) for name, v in self.inputs.items()}


def _dtype_dependent(value) -> bool:
    if isinstance(value, (Random, RandomLabels)):
        return True
    if isinstance(value, str):
        return value not in (INF, NINF, NAN)  # any other string is a named, dtype-dependent value
    if isinstance(value, (list, tuple)):
        return any(_dtype_dependent(v) for v in value)
    return False


def _plain(value):
    if isinstance(value, Labels):
        return list(value.values)
    if isinstance(value, Empty):
        return {"shape": list(value.shape), "data": []}
    if isinstance(value, (Random, RandomLabels)):
        raise ValueError("a random draw has no plain form")
    return value


CATALOG = [Entry(*t) for t in _TUPLES]
