"""Best in class (conformance/report/peers.py): the best ULP per case and part, and who is behind peers."""
import math

from conformance.report.html import render_report
from conformance.report.peers import BEHIND_FACTOR, behind_peers


def rec(impl, ulp_value, dtype="float32", case="c1", x=(1.0, 2.0), grad=None, verdict="accurate", convention=None):
    return {"implementation": impl, "framework": impl.split(".")[0], "op": "log_softmax", "dtype": dtype,
            "device": "cpu", "case_id": case, "params": {"axis": -1},
            "inputs": {"x": {"dtype": dtype, "shape": [len(x)], "data": list(x)}},
            "ulp": {"value": ulp_value, "grad": grad or {}}, "verdict": verdict, "convention": convention}


def test_behind_peers_beyond_the_factor_and_the_budget():
    records = [rec("a", 0.5), rec("b", 3.0), rec("c", 100.0), rec("d", "inf"), rec("e", 100.0, x=(3.0, 4.0))]
    rows = behind_peers(records)
    assert {(b.implementation, b.part) for b in rows} == {("c", "value"), ("d", "value")}
    c = next(b for b in rows if b.implementation == "c")
    assert c.best_ulp == 0.5 and c.best_by == ["a"] and c.factor == 100.0 > BEHIND_FACTOR
    assert math.isinf(next(b for b in rows if b.implementation == "d").factor)


def test_within_budget_or_factor_is_not_behind_and_conventions_are_left_out():
    records = [rec("a", 0.0), rec("b", 4.0), rec("c", 0.0, convention="clip"), rec("d", 7.0, x=(5.0,)),
               rec("e", 100.0, x=(5.0,))]
    assert [(b.implementation) for b in behind_peers(records)] == ["e"]
    records = [rec("a", 10.0), rec("b", 70.0)]
    assert behind_peers(records) == []  # 7x the best: within the factor


def test_gradients_are_compared_part_by_part():
    records = [rec("a", 0.0, grad={"x": 1.0}), rec("b", 0.0, grad={"x": 1e6})]
    [b] = behind_peers(records)
    assert (b.implementation, b.part) == ("b", "grad:x")


def test_report_shows_the_best_in_class_table():
    from report_fixtures import build_results

    results = build_results()
    results["records"] = results["records"] + [rec("x.best", 0.5), rec("y.behind", 1e5)]
    page = render_report(results)
    assert 'id="peers"' in page and "Best in class" in page
    assert "y.behind" in page.split('id="peers"')[1].split("</section>")[0]


def test_a_value_only_implementation_says_so():
    from report_fixtures import build_results

    results = build_results()
    results["implementations"] = results["implementations"] + [
        {"id": "custom:mine:f", "framework": "custom:numpy", "op": "sigmoid", "grads": [], "value_only": True}]
    assert "value only: gradients not checked" in render_report(results)
