"""Named edge cases, as data: the golden corpus is regenerated from this list (python -m reference golden).

Each entry: (id, op, inputs, params). Numbers are Python numbers or "inf"/"-inf"/"nan"; a list of ints
given for a label input is labels; {"shape": [...], "data": [...]} keeps the shape of an empty array.
Every entry is evaluated in every dtype of DTYPES unless it names its own as a fifth element.
"""
from __future__ import annotations

from reference.dtypes import DTYPE_NAMES

INF, NINF, NAN = "inf", "-inf", "nan"
DTYPES = DTYPE_NAMES

# The PyTorch CrossEntropyLoss example of shared/seeds/003 (loss printed 1.8338, gradients to 4 decimals).
SEED_LOGITS = [[0.8671, 0.0189, 0.0042, 0.1619, 0.9805],
               [0.1054, 0.1519, 0.6359, 0.6112, 0.9417],
               [0.9968, 0.3285, 0.9185, 0.0315, 0.9592]]
SEED_TARGET = [1, 0, 4]

SOFTMAX = [
    ("softmax(x=[1,2,3])", "softmax", {"x": [[1, 2, 3]]}, {}),
    ("softmax(row=equal)", "softmax", {"x": [[0.5, 0.5, 0.5, 0.5]]}, {}),
    ("softmax(C=1)", "softmax", {"x": [[7]]}, {}),
    ("softmax(x=[inf,0])", "softmax", {"x": [[INF, 0]]}, {}),
    ("softmax(x=[inf,inf])", "softmax", {"x": [[INF, INF]]}, {}),
    ("softmax(x=[-inf,0])", "softmax", {"x": [[NINF, 0]]}, {}),
    ("softmax(row=all -inf)", "softmax", {"x": [[NINF, NINF]]}, {}),
    ("softmax(x=[nan,0])", "softmax", {"x": [[NAN, 0]]}, {}),
    ("softmax(axis=0)", "softmax", {"x": [[1, 2], [3, 5]]}, {"axis": 0}),
    ("log_softmax(x=[1,2,3])", "log_softmax", {"x": [[1, 2, 3]]}, {}),
    ("log_softmax(row=equal)", "log_softmax", {"x": [[-2, -2, -2]]}, {}),
    ("log_softmax(x=[inf,0])", "log_softmax", {"x": [[INF, 0]]}, {}),
    ("log_softmax(x=[-inf,0,1])", "log_softmax", {"x": [[NINF, 0, 1]]}, {}),
    ("log_softmax(row=all -inf)", "log_softmax", {"x": [[NINF, NINF]]}, {}),
    ("log_softmax(x=[-40,0,40])", "log_softmax", {"x": [[-40, 0, 40]]}, {}),
]

LOGSUMEXP = [
    ("logsumexp(x=[1,2,3])", "logsumexp", {"x": [[1, 2, 3]]}, {}),
    ("logsumexp(equal,C=4)=ln4", "logsumexp", {"x": [[0, 0, 0, 0]]}, {}),
    ("logsumexp(x=[inf,0])", "logsumexp", {"x": [[INF, 0]]}, {}),
    ("logsumexp(all -inf)", "logsumexp", {"x": [[NINF, NINF]]}, {}),
    ("logsumexp(x=[nan,0])", "logsumexp", {"x": [[NAN, 0]]}, {}),
    ("logsumexp(axis=0)", "logsumexp", {"x": [[1, 2], [3, 5]]}, {"axis": 0}),
    ("logsumexp(no classes)", "logsumexp", {"x": {"shape": [2, 0], "data": []}}, {}),
]

SIGMOID = [
    (f"{op}(x={v})", op, {"x": [v]}, {})
    for op in ("sigmoid", "log_sigmoid")
    for v in (0, 1, -1, 40, -40, 100, -100, INF, NINF, NAN)
]

INFORMATION = [
    ("entropy(uniform 5,bits)=2.3219", "entropy", {"p": [[0.2] * 5]}, {"base": 2}),
    ("entropy(uniform 4)=ln 4", "entropy", {"p": [[0.25] * 4]}, {}),
    ("entropy(one-hot)", "entropy", {"p": [[0, 1, 0]]}, {}),
    ("entropy(p=[0,0.5,0.5])", "entropy", {"p": [[0, 0.5, 0.5]]}, {}),
    ("entropy(p=[nan,0.5])", "entropy", {"p": [[NAN, 0.5]]}, {}),
    ("entropy(p=[-0.5,1.5])", "entropy", {"p": [[-0.5, 1.5]]}, {}),
    ("entropy(normalize,[1,1,2])", "entropy", {"p": [[1, 1, 2]]}, {"normalize": True}),
    ("entropy(normalize,sum=0)", "entropy", {"p": [[0, 0]]}, {"normalize": True}),
    ("H(p,q)(seed -ln 0.2)=1.6094", "cross_entropy_dist", {"p": [[0, 0, 1]], "q": [[0.6, 0.2, 0.2]]}, {}),
    ("H(p,q)(uniform 4 = 0.2 each,bits)", "cross_entropy_dist", {"p": [[0.2] * 4], "q": [[0.2] * 4]},
     {"base": 2}),
    ("H(p,q)(q=0 where p>0)", "cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {}),
    ("H(p,q)(q=0 where p=0)", "cross_entropy_dist", {"p": [[1, 0]], "q": [[1, 0]]}, {}),
    ("H(p,q)(labels,mean)", "cross_entropy_dist", {"p": [1, 0], "q": [[0.25, 0.75], [0.5, 0.5]]},
     {"reduction": "mean"}),
    ("H(p,q)(normalize=both)", "cross_entropy_dist", {"p": [[1, 3]], "q": [[2, 6]]}, {"normalize": "both"}),
    ("H(p,q)(clip)", "cross_entropy_dist", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {"clip": [1e-7, 1 - 1e-7]}),
    ("KL(p,p)=0", "kl_divergence", {"p": [[0.25, 0.75]], "q": [[0.25, 0.75]]}, {}),
    ("KL(p,q)", "kl_divergence", {"p": [[0.5, 0.5]], "q": [[0.25, 0.75]]}, {}),
    ("KL(q=0 where p>0)", "kl_divergence", {"p": [[0.5, 0.5]], "q": [[1, 0]]}, {}),
    ("KL(p=0 where q=0)", "kl_divergence", {"p": [[1, 0]], "q": [[1, 0]]}, {}),
    ("KL(normalize=both)", "kl_divergence", {"p": [[1, 3]], "q": [[2, 2]]}, {"normalize": "both"}),
    ("xlogy(0,0)", "xlogy", {"x": [0], "y": [0]}, {}),
    ("xlogy(0,inf)", "xlogy", {"x": [0], "y": [INF]}, {}),
    ("xlogy(0,nan)", "xlogy", {"x": [0], "y": [NAN]}, {}),
    ("xlogy(2,0.5)", "xlogy", {"x": [2], "y": [0.5]}, {}),
    ("xlogy(inf,1)", "xlogy", {"x": [INF], "y": [1]}, {}),
    ("rel_entr(0,0)", "rel_entr", {"x": [0], "y": [0]}, {}),
    ("rel_entr(1,0)", "rel_entr", {"x": [1], "y": [0]}, {}),
    ("rel_entr(-1,1)", "rel_entr", {"x": [-1], "y": [1]}, {}),
    ("rel_entr(0.5,0.25)", "rel_entr", {"x": [0.5], "y": [0.25]}, {}),
    ("generalized_kl(1,1)=0", "generalized_kl", {"x": [1], "y": [1]}, {}),
    ("generalized_kl(0,2)", "generalized_kl", {"x": [0], "y": [2]}, {}),
    ("generalized_kl(inf,1)", "generalized_kl", {"x": [INF], "y": [1]}, {}),
    ("xlog1py(0,-1)=0", "xlog1py", {"x": [0], "y": [-1]}, {}),
    ("xlog1py(2,-1)=-inf", "xlog1py", {"x": [2], "y": [-1]}, {}),
    ("xlog1py(1,-2)=nan", "xlog1py", {"x": [1], "y": [-2]}, {}),
    ("xlog1py(2,0.5)", "xlog1py", {"x": [2], "y": [0.5]}, {}),
    ("xlog1py(0,nan)", "xlog1py", {"x": [0], "y": [NAN]}, {}),
    ("entr(0)=0", "entr", {"x": [0]}, {}),
    ("entr(0.5)", "entr", {"x": [0.5]}, {}),
    ("entr(1)=0", "entr", {"x": [1]}, {}),
    ("entr(-1)=-inf", "entr", {"x": [-1]}, {}),
    ("entr(inf)", "entr", {"x": [INF]}, {}),
    ("entr(nan)", "entr", {"x": [NAN]}, {}),
    ("H(p,q)(label_smoothing=0.1)", "cross_entropy_dist", {"p": [[0, 1, 0]], "q": [[0.2, 0.5, 0.3]]},
     {"label_smoothing": 0.1}),
    ("H(p,q)(labels,label_smoothing=1)", "cross_entropy_dist", {"p": [2], "q": [[0.25, 0.25, 0.5]]},
     {"label_smoothing": 1.0}),
]

CROSS_ENTROPY = [
    ("ce(seed example)=1.8338", "cross_entropy", {"logits": SEED_LOGITS, "target": SEED_TARGET}, {}),
    ("ce(logits=[1,2,3],y=0)=2.4076", "cross_entropy", {"logits": [[1, 2, 3]], "target": [0]},
     {"reduction": "mean"}),
    ("ce(equal logits,C=5)=ln 5", "cross_entropy", {"logits": [[0.5] * 5], "target": [3]}, {}),
    ("ce(logits=[inf,0],y=0)", "cross_entropy", {"logits": [[INF, 0]], "target": [0]}, {}),
    ("ce(logits=[inf,0],y=1)", "cross_entropy", {"logits": [[INF, 0]], "target": [1]}, {}),
    ("ce(logits=[-inf,0],y=0)", "cross_entropy", {"logits": [[NINF, 0]], "target": [0]}, {}),
    ("ce(row all -inf)", "cross_entropy", {"logits": [[NINF, NINF]], "target": [0]}, {}),
    ("ce(logits=[nan,0],y=1)", "cross_entropy", {"logits": [[NAN, 0]], "target": [1]}, {}),
    ("ce(empty batch,mean)", "cross_entropy", {"logits": {"shape": [0, 3], "data": []}, "target": []}, {}),
    ("ce(empty batch,sum)", "cross_entropy", {"logits": {"shape": [0, 3], "data": []}, "target": []},
     {"reduction": "sum"}),
    ("ce(all ignored,mean)", "cross_entropy", {"logits": [[1, 2], [3, 4]], "target": [-100, -100]},
     {"ignore_index": -100}),
    ("ce(all ignored,sum)", "cross_entropy", {"logits": [[1, 2], [3, 4]], "target": [-100, -100]},
     {"ignore_index": -100, "reduction": "sum"}),
    ("ce(zero weight sum)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [0]}, {"weight": [0, 1, 1]}),
    ("ce(weight,count)", "cross_entropy", {"logits": [[1, 2, 3], [1, 0, -1]], "target": [0, 2]},
     {"weight": [0.25, 1, 4], "mean_denominator": "count"}),
    ("ce(label_smoothing=0.1)", "cross_entropy", {"logits": [[1, 2, 3], [3, 2, 1]], "target": [0, 0]},
     {"label_smoothing": 0.1}),
    ("ce(label_smoothing,-inf logit)", "cross_entropy", {"logits": [[NINF, 0, 1]], "target": [2]},
     {"label_smoothing": 0.1}),
    ("ce(label=C)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [3]}, {}),
    ("ce(label=-1)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [-1]}, {}),
    ("ce(spatial N,C,d)", "cross_entropy", {"logits": [[[1, 2], [0, 5], [-1, 3]]], "target": [[0, 2]]}, {}),
    ("ce(probs one-hot = labels)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[1, 0, 0]]}, {}),
    ("ce(probs zero where logit -inf)", "cross_entropy", {"logits": [[NINF, 0, 1]], "target": [[0, 0.5, 0.5]]},
     {}),
    ("ce(probs,weight_sum,smoothing)", "cross_entropy", {"logits": [[1, 2, 3]], "target": [[0.25, 0.25, 0.5]]},
     {"weight": [0.5, 1, 2], "label_smoothing": 0.2}),
    ("nll(logp=[-1,-2,-3],y=0)", "nll_loss", {"logp": [[-1, -2, -3]], "target": [0]}, {}),
    ("nll(mean of three)", "nll_loss", {"logp": [[-1, -2], [-3, -4], [-5, -7]], "target": [0, 1, 1]}, {}),
    ("nll(logp=-inf at target)", "nll_loss", {"logp": [[NINF, 0]], "target": [0]}, {}),
    ("nll(logp=-inf,weight 0)", "nll_loss", {"logp": [[NINF, 0]], "target": [0]}, {"weight": [0, 1]}),
    ("nll(all ignored)", "nll_loss", {"logp": [[-1, -2]], "target": [-100]}, {"ignore_index": -100}),
    ("nll(label=C)", "nll_loss", {"logp": [[-1, -2]], "target": [2]}, {}),
]

BINARY = [
    ("bce(p=0,y=1)", "binary_cross_entropy", {"p": [0], "y": [1]}, {}),
    ("bce(p=0,y=0)", "binary_cross_entropy", {"p": [0], "y": [0]}, {}),
    ("bce(p=1,y=1)", "binary_cross_entropy", {"p": [1], "y": [1]}, {}),
    ("bce(p=0.5,y=0.5)", "binary_cross_entropy", {"p": [0.5], "y": [0.5]}, {}),
    ("bce(p=1.5)", "binary_cross_entropy", {"p": [1.5], "y": [1]}, {}),
    ("bce(p=nan)", "binary_cross_entropy", {"p": [NAN], "y": [1]}, {}),
    ("bce(p=0,y=1,log_clamp=-100)", "binary_cross_entropy", {"p": [0], "y": [1]}, {"log_clamp": -100}),
    ("bce(empty)", "binary_cross_entropy", {"p": [], "y": []}, {}),
    ("bcel(x=0,y=1)", "binary_cross_entropy_with_logits", {"x": [0], "y": [1]}, {}),
    ("bcel(x=40,y=0)", "binary_cross_entropy_with_logits", {"x": [40], "y": [0]}, {}),
    ("bcel(x=inf,y=1)", "binary_cross_entropy_with_logits", {"x": [INF], "y": [1]}, {}),
    ("bcel(x=inf,y=0)", "binary_cross_entropy_with_logits", {"x": [INF], "y": [0]}, {}),
    ("bcel(x=-inf,y=0)", "binary_cross_entropy_with_logits", {"x": [NINF], "y": [0]}, {}),
    ("bcel(pos_weight=3)", "binary_cross_entropy_with_logits", {"x": [[0.5, -2]], "y": [[1, 0]]},
     {"pos_weight": [3, 3]}),
]

KL_DIV = [
    ("kl_div(target=0,input=-inf)", "kl_div", {"input": [[NINF, 0]], "target": [[0, 1]]}, {"reduction": "sum"}),
    ("kl_div(target>0,input=-inf)", "kl_div", {"input": [[NINF, 0]], "target": [[0.5, 0.5]]},
     {"reduction": "sum"}),
    ("kl_div(batchmean)", "kl_div", {"input": [[-1, -2], [-0.5, -3]], "target": [[0.5, 0.5], [0.875, 0.125]]},
     {"reduction": "batchmean"}),
    ("kl_div(log_target,-inf)", "kl_div", {"input": [[-1, -2]], "target": [[-0.5, NINF]]},
     {"log_target": True, "reduction": "sum"}),
    ("kl_div(generalized)", "kl_div", {"input": [[-1, 0.5]], "target": [[0.5, 2]]},
     {"generalized": True, "reduction": "sum"}),
    ("kl_div(generalized,target=0)=exp(input)", "kl_div", {"input": [[-1, NINF]], "target": [[0, 0]]},
     {"generalized": True, "reduction": "none"}),
    ("kl_div(generalized,input=inf)", "kl_div", {"input": [[INF]], "target": [[0.5]]},
     {"generalized": True, "reduction": "none"}),
    ("kl_div(generalized,log_target)", "kl_div", {"input": [[-1, -2]], "target": [[-0.5, NINF]]},
     {"log_target": True, "generalized": True, "reduction": "sum"}),
]

FOCAL = [
    ("sigmoid_focal(gamma=0,alpha=null)=bce", "sigmoid_focal_loss", {"x": [0.5, -1], "y": [1, 0]},
     {"gamma": 0, "alpha": None}),
    ("sigmoid_focal(default)", "sigmoid_focal_loss", {"x": [0.5, -1, 3], "y": [1, 0, 1]}, {}),
    ("sigmoid_focal(x=-inf,y=0)", "sigmoid_focal_loss", {"x": [NINF], "y": [0]}, {}),
    ("softmax_focal(default)", "softmax_focal_loss", {"logits": [[1, 2, 3]], "target": [[0, 0, 1]]}, {}),
    ("softmax_focal(gamma=0)=ce", "softmax_focal_loss", {"logits": [[1, 2, 3]], "target": [[0.5, 0, 0.5]]},
     {"gamma": 0, "alpha": None}),
]

FOCAL += [
    ("binary_focal(p=0.25,y=1)", "binary_focal_loss", {"p": [0.25], "y": [1]}, {}),
    ("binary_focal(gamma=0)=bce", "binary_focal_loss", {"p": [0.25, 0.75], "y": [1, 0]}, {"gamma": 0}),
    ("binary_focal(p=0,y=0)", "binary_focal_loss", {"p": [0], "y": [0]}, {}),
    ("binary_focal(p=0,y=1,clip)", "binary_focal_loss", {"p": [0], "y": [1]}, {"clip": [1e-7, 1 - 1e-7]}),
    ("binary_focal(alpha,smoothing)", "binary_focal_loss", {"p": [0.5, 0.125], "y": [1, 0]},
     {"alpha": 0.25, "label_smoothing": 0.1}),
]

GCE = [
    ("gce(q=0.5)", "generalized_cross_entropy", {"p": [[0.25, 0.75]], "target": [1]}, {}),
    ("gce(q=1)=1-p", "generalized_cross_entropy", {"p": [[0.25, 0.75], [0.5, 0.5]], "target": [0, 1]},
     {"q": 1.0, "reduction": "mean"}),
    ("gce(p_y=0)", "generalized_cross_entropy", {"p": [[0, 1]], "target": [0]}, {"q": 0.7}),
    ("gce(label=C)", "generalized_cross_entropy", {"p": [[0.5, 0.5]], "target": [2]}, {}),
]

POLY = [
    ("poly(equal logits,one-hot)=ln4+1.5", "poly_loss", {"logits": [[0, 0, 0, 0]], "target": [[1, 0, 0, 0]]}, {}),
    ("poly(epsilon=-1)", "poly_loss", {"logits": [[1, 2, 3]], "target": [[0.25, 0.25, 0.5]]}, {"epsilon": -1}),
    ("poly(epsilon=0)=ce", "poly_loss", {"logits": [[1, 2, 3]], "target": [[0, 0, 1]]}, {"epsilon": 0}),
    ("poly(zero target where logit -inf)", "poly_loss", {"logits": [[NINF, 0, 1]], "target": [[0, 0.5, 0.5]]}, {}),
    ("poly(logit +inf)", "poly_loss", {"logits": [[INF, 0]], "target": [[1, 0]]}, {}),
    ("poly(mean)", "poly_loss", {"logits": [[1, 2], [0, -3]], "target": [[1, 0], [0.5, 0.5]]}, {"reduction": "mean"}),
    ("mlsm(3 classes)", "multilabel_soft_margin_loss", {"x": [[0.5, -2, 7.25]], "y": [[1, 0, 0.5]]}, {}),
    ("mlsm(weight,none)", "multilabel_soft_margin_loss", {"x": [[0.5, -2], [1, 40]], "y": [[1, 0], [0, 1]]},
     {"weight": [2, 0.5], "reduction": "none"}),
    ("mlsm(x=inf)", "multilabel_soft_margin_loss", {"x": [[INF, 0]], "y": [[1, 1]]}, {}),
    ("mlsm(no classes)", "multilabel_soft_margin_loss", {"x": {"shape": [2, 0], "data": []},
                                                         "y": {"shape": [2, 0], "data": []}}, {"reduction": "none"}),
]

CATALOG = SOFTMAX + LOGSUMEXP + SIGMOID + INFORMATION + CROSS_ENTROPY + GCE + POLY + BINARY + KL_DIV + FOCAL
