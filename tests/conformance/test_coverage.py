"""docs/coverage.md's machinery: every public name of the family in the installed packages is decided (covered,
gap, out of scope), and a new name that is none of these is reported (conformance/adapters/coverage.py)."""
from __future__ import annotations

import types

import pytest

from conformance.adapters import coverage
from conformance.cli import main
from conformance.adapters.implementation import Implementation
from tests.installed_helpers import needs


@pytest.fixture(scope="module")
def rows():
    return coverage.all_rows()


def _row(row_id: str, op: str = "softmax") -> Implementation:
    return Implementation(id=row_id, framework="numpy", op=op, call=lambda *a: None, dtypes=("float64",),
                          fixed_params={"axis": -1}, grads=("x",), link="https://example.org")


def _fake_namespace():
    mod = types.ModuleType("fakepkg.losses")

    def softmax(x):
        return x

    mod.softmax = softmax
    mod.softmax_alias = softmax  # the same object under another name
    mod.fancy_cross_entropy = lambda x: x  # new in the family, decided nowhere
    mod.gap_entropy = lambda x: x
    mod.mean_squared_error = lambda x: x  # not in the family
    mod._private_softmax = softmax
    return mod


EMPTY_SCOPE = {"include": set(), "gaps": {}, "out_of_scope": {}}


def test_installed_packages_have_no_unlisted_family_name(rows):
    cov = coverage.collect(rows=rows)
    assert [e.qualname for e in cov.by_status("unlisted")] == []
    assert cov.by_status("covered"), "no family name is covered: the row-to-name mapping broke"


def test_a_new_name_in_a_fake_namespace_is_reported_unlisted():
    scope = {**EMPTY_SCOPE, "gaps": {"fakepkg.losses.gap_entropy": "needs an op"}}
    cov = coverage.collect(namespaces=(("fakepkg", "fakepkg.losses", _fake_namespace()),),
                           rows=[_row("fakepkg.losses.softmax[x]")], scope=scope)
    status = {e.qualname: e.status for e in cov.entries}
    assert status == {"fakepkg.losses.fancy_cross_entropy": "unlisted",
                      "fakepkg.losses.gap_entropy": "gap",
                      "fakepkg.losses.softmax": "covered",
                      "fakepkg.losses.softmax_alias": "covered"}
    alias = next(e for e in cov.entries if e.name == "softmax_alias")
    assert alias.detail == "same object as fakepkg.losses.softmax"
    assert "fancy_cross_entropy" in coverage.render(cov)


def test_a_name_injected_into_an_installed_namespace_fails_the_check(rows, monkeypatch):
    scipy_special = pytest.importorskip("scipy.special")
    monkeypatch.setattr(scipy_special, "brand_new_softmax_loss", lambda x: x, raising=False)
    cov = coverage.collect(rows=rows)
    assert [e.qualname for e in cov.by_status("unlisted")] == ["scipy.special.brand_new_softmax_loss"]


def test_the_command_exits_1_and_names_the_gap(rows, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(coverage, "NAMESPACES", (("fakepkg", "fakepkg.losses", _fake_namespace()),))
    monkeypatch.setattr(coverage, "all_rows", lambda: [_row("fakepkg.losses.softmax")])
    out = tmp_path / "coverage.md"
    assert main(["coverage", "--out", str(out)]) == 1
    assert "unlisted: fakepkg.losses.fancy_cross_entropy" in capsys.readouterr().out
    assert "| `fancy_cross_entropy` | unlisted |" in out.read_text()


@needs("torch")
def test_the_command_writes_coverage_md_for_the_installed_packages(rows, monkeypatch, tmp_path):
    monkeypatch.setattr(coverage, "all_rows", lambda: rows)
    out = tmp_path / "coverage.md"
    assert main(["coverage", "--out", str(out)]) == 0
    text = out.read_text()
    assert "0 unlisted" in text and "`torch.nn.CrossEntropyLoss[class]`" in text


def test_bad_out_is_exit_2(tmp_path, capsys):
    assert main(["coverage", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_missing_package_is_one_skipped_line():
    cov = coverage.collect(namespaces=(("nopkg", "nopkg.losses", "nopkg_that_is_not_installed.losses"),),
                           rows=[], scope=EMPTY_SCOPE)
    assert cov.entries == [] and "nopkg.losses" in cov.skipped
    assert "`nopkg.losses`: skipped" in coverage.render(cov)


def test_row_ids_name_every_composed_function():
    assert coverage.row_names("optax.losses.softmax_cross_entropy∘smooth_labels∘jax.nn.one_hot") == [
        "optax.losses.softmax_cross_entropy", "optax.smooth_labels", "jax.nn.one_hot"]
    assert coverage.row_names("keras.losses.binary_crossentropy(from_logits=True)[per-element]") == [
        "keras.losses.binary_crossentropy"]


def test_scope_file_decides_each_name_once(tmp_path):
    scope = coverage.load_scope()
    assert not set(scope["gaps"]) & set(scope["out_of_scope"])
    bad = tmp_path / "scope.toml"
    bad.write_text('[gaps]\n"a.b" = "x"\n[out_of_scope]\n"a.b" = "y"\n')
    with pytest.raises(ValueError, match="both"):
        coverage.load_scope(bad)
