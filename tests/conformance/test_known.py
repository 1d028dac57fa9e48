"""Known divergences: matched failures are known, vanished ones are fixed upstream, stray entries warned."""
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING

TOML = '''
[[divergence]]
id = "bce-clamp"
implementation = "torch.nn.functional.binary_cross_entropy"
dtypes = ["float32"]
versions = { torch = ">=2.0" }
cases = "bce(p=0*"
verdicts = ["special_value_mismatch"]
reason = "clamps"
link = "https://example.org/1"

[[divergence]]
id = "never-run"
implementation = "nothing.*"
frameworks = ["torch"]
predicate = "observed_zero_reference_subnormal"
verdicts = ["inaccurate"]
reason = "r"
link = "https://example.org/2"
'''


def record(verdict, case_id="bce(p=0,y=1)", version="torch 2.13.0+cpu", dtype="float32"):
    return {"implementation": "torch.nn.functional.binary_cross_entropy", "op": "binary_cross_entropy",
            "dtype": dtype, "device": "cpu", "case_id": case_id, "framework_version": version,
            "verdict": verdict}


@pytest.fixture
def entries(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text(TOML)
    return known.load(path)


def test_matching_failure_is_known_not_unexpected(entries):
    r = record("special_value_mismatch")
    known.classify(r, entries, FAILING)
    assert r["known_divergence"] == "bce-clamp" and not r["unexpected"]
    assert known.status(entries)["matched"] == ["bce-clamp"]
    assert known.status(entries)["unmatched"] == ["never-run"]


def test_other_failures_stay_unexpected(entries):
    for r in [record("inaccurate"), record("special_value_mismatch", case_id="bce(p=1,y=0)"),
              record("special_value_mismatch", version="torch 1.13.0"),
              record("special_value_mismatch", dtype="float16")]:
        known.classify(r, entries, FAILING)
        assert r["unexpected"] and r["known_divergence"] is None


def test_scope_run_without_failure_is_fixed_upstream(entries):
    r = record("accurate")
    known.classify(r, entries, FAILING)
    assert not r["unexpected"]
    assert known.status(entries)["fixed_upstream"] == ["bce-clamp"]


def test_bad_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[divergence]]\nid = "x"\n')
    with pytest.raises(known.KnownDivergenceError, match="lacks"):
        known.load(path)


def test_bundled_file_loads_and_every_entry_links_upstream():
    for entry in known.load():
        assert entry.link.startswith("https://"), entry.id


def test_every_bundled_entry_names_a_declared_implementation():
    """A typo in an entry's implementation pattern would silently never match: catch it here."""
    from conformance.adapters import FRAMEWORKS, availability, implementations_for

    missing = [name for name in ("torch", "tensorflow", "jax", "numpy") if not availability(name)[0]]
    if missing:  # an entry about a framework that is not installed cannot be checked against its rows
        pytest.skip(f"not installed: {', '.join(missing)}")
    ids = [i.id for name in FRAMEWORKS if availability(name)[0] for i in implementations_for(name)]
    for entry in known.load():
        assert any(known._any_match(i, entry.implementation) for i in ids), entry.id


def test_status_ignores_entries_about_implementations_not_run(entries):
    r = record("accurate")
    known.classify(r, entries, FAILING)
    assert known.status(entries, {r["implementation"]})["unmatched"] == []


# --- versions per package, key validation, strict mode (issue 16) -------------------------------------------

def entry_from(tmp_path, body: str, name="e.toml"):
    path = tmp_path / name
    path.write_text('[[divergence]]\nid = "e"\nimplementation = "optax.losses.sigmoid_focal_loss"\nverdicts = ["inaccurate"]\n'
                    'reason = "r"\nlink = "https://example.org"\n' + body)
    return path


def optax_record(version, verdict="inaccurate", dtype="float32"):
    return {"implementation": "optax.losses.sigmoid_focal_loss", "op": "sigmoid_focal_loss", "dtype": dtype,
            "device": "cpu", "case_id": "c", "framework_version": version, "verdict": verdict}


@pytest.mark.parametrize("versions, version_text, in_scope", [
    ('{ optax = ">=0.2.5" }', "jax 0.4.38, optax 0.2.5", True),
    ('{ optax = ">=0.2.5" }', "jax 0.10.2, optax 0.2.4", False),   # jax is newer: not what the entry is about
    ('{ jax = ">=0.10" }', "jax 0.10.2, optax 0.2.8", True),       # was checked against optax's 0.2.8
    ('{ jax = ">=0.10", optax = "<0.2.8" }', "jax 0.10.2, optax 0.2.8", False),
    ('{ optax = ">=0.2.5" }', "jax 0.10.2", False),                 # the package is not named at all
    ('{ scikit_learn = "<2" }', "numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1", True),  # normalised names
    ('{ jax = ">=0.5" }', "jax 0.6.0rc1, optax 0.2.5", True),       # pre-releases count
    ('{ torch = "==2.13.0" }', "torch 2.13.0+cpu", True),           # local version labels
])
def test_versions_are_checked_per_package(tmp_path, versions, version_text, in_scope):
    [entry] = known.load(entry_from(tmp_path, f"versions = {versions}\n"))
    r = optax_record(version_text)
    known.classify(r, [entry], FAILING)
    assert (r["known_divergence"] == "e") is in_scope
    assert r["unexpected"] is not in_scope


@pytest.mark.parametrize("body, needle", [
    ('verisons = { optax = ">=0.2.5" }\n', "unknown key 'verisons'"),
    ('dtype = ["float16"]\n', "unknown key 'dtype'"),
    ('versions = ">=0.2.5"\n', "versions must be a table"),
    ('versions = { optax = "at least 0.2.5" }\n', "not a PEP 440 specifier"),
])
def test_bad_keys_and_versions_are_one_clear_error(tmp_path, body, needle):
    with pytest.raises(known.KnownDivergenceError, match=needle):
        known.load(entry_from(tmp_path, body))


def test_fixed_upstream_only_for_entries_whose_scope_ran(tmp_path):
    [entry] = known.load(entry_from(tmp_path, 'dtypes = ["float16"]\nparts = ["grad:y"]\n'))
    for dtype in ("float32", "float64"):  # the entry's implementation ran, its dtype did not
        known.classify(optax_record("optax 0.2.8", "accurate", dtype), [entry], FAILING)
    status = known.status([entry], {"optax.losses.sigmoid_focal_loss"}, strict=True)
    assert status["fixed_upstream"] == [] and status["strict_failures"] == []
    assert known.status([entry], {"torch.sigmoid"})["unmatched"] == []  # nothing of its framework ran
    # its scope runs (a passing record: parts describe a failure, not the scope) and nothing fails: stale
    known.classify(optax_record("optax 0.2.8", "accurate", "float16"), [entry], FAILING)
    assert known.status([entry], strict=False) == {"matched": [], "fixed_upstream": ["e"], "unmatched": [],
                                                  "strict_failures": []}
    assert known.status([entry], strict=True)["strict_failures"] == ["e"]
    known.reset([entry])
    assert known.status([entry])["fixed_upstream"] == []


def _run(*args, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "conformance", "run", "--frameworks", "numpy", "--implementations",
                           "scipy.special.log_softmax", "--dtypes", "float64", "--profile", "quick", "--no-report",
                           "-q", "--out", str(tmp_path / "out"), *args], capture_output=True, text=True, cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root)), timeout=600)


def test_strict_known_fails_on_a_stale_entry_and_passes_on_the_real_registry(tmp_path):
    real = _run("--strict-known", tmp_path=tmp_path)  # the dominant-class entry matches the catalog case
    assert real.returncode == 0, real.stdout[-2000:] + real.stderr[-2000:]
    stale = (tmp_path / "stale.toml")
    stale.write_text(known.DEFAULT_PATH.read_text() + '''
[[divergence]]
id = "fabricated-stale-entry"
implementation = "scipy.special.log_softmax"
dtypes = ["float64"]
verdicts = ["inaccurate"]
cases = "log_softmax(x=[1,2,3])"
reason = "a divergence that does not occur"
link = "https://example.org"
''')
    lenient = _run("--known", str(stale), tmp_path=tmp_path)
    assert lenient.returncode == 0 and "'fabricated-stale-entry' no longer occurs" in lenient.stdout
    strict = _run("--known", str(stale), "--strict-known", tmp_path=tmp_path)
    assert strict.returncode == 1 and "--strict-known" in strict.stdout
    import json

    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["known_divergences"]["strict_failures"] == ["fabricated-stale-entry"]


def test_typo_in_the_registry_is_exit_2_on_the_command_line(tmp_path):
    bad = entry_from(tmp_path, 'implementaton = "x"\n')
    result = _run("--known", str(bad), tmp_path=tmp_path)
    assert result.returncode == 2 and "unknown key 'implementaton'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_multi_framework_entry_is_not_called_fixed_by_a_run_of_one_framework(tmp_path):
    path = entry_from(tmp_path, "")
    text = path.read_text().replace('implementation = "optax.losses.sigmoid_focal_loss"',
                                    'implementation = ["torch.nn.functional.cross_entropy", '
                                    '"optax.losses.sigmoid_focal_loss"]')
    path.write_text(text)
    [entry] = known.load(path)
    assert known.frameworks_of(entry) == {"torch", "jax"}
    known.classify(optax_record("jax 0.10.2, optax 0.2.8", "accurate"), [entry], FAILING)
    assert known.status([entry], frameworks_run={"jax"})["fixed_upstream"] == []
    assert known.status([entry], frameworks_run={"jax", "torch"})["fixed_upstream"] == ["e"]


def test_an_entry_scoped_out_by_version_is_not_warned_about(tmp_path):
    [entry] = known.load(entry_from(tmp_path, 'versions = { optax = ">=0.2.5" }\n'))
    known.classify(optax_record("jax 0.4.38, optax 0.2.4", "inaccurate"), [entry], FAILING)
    status = known.status([entry], {"optax.losses.sigmoid_focal_loss"}, strict=True, frameworks_run={"jax"})
    assert status == {"matched": [], "fixed_upstream": [], "unmatched": [], "strict_failures": []}


PARTS_TOML = '''
[[divergence]]
id = "value-only"
implementation = "torch.nn.functional.binary_cross_entropy"
parts = ["value"]
verdicts = ["inaccurate"]
reason = "the value's documented mechanism"
link = "https://example.org/v"
'''

GRAD_TOML = '''
[[divergence]]
id = "grad-too"
implementation = "torch.nn.functional.binary_cross_entropy"
parts = ["grad:*"]
verdicts = ["special_value_mismatch"]
reason = "the gradient's documented mechanism"
link = "https://example.org/g"
'''


def _two_part_record():
    r = record("inaccurate")
    r.update(part="value", observed={"value": {"dtype": "float32", "shape": [], "data": [1.0]}},
             failing_elements={"value": [0], "grad:p": [0]})
    return r


@pytest.mark.parametrize("extra, known_id", [("", None), (GRAD_TOML, "value-only")])
def test_an_entry_for_one_part_does_not_hide_another_failing_part(tmp_path, extra, known_id):
    """A record whose value is explained by an entry limited to the value, but whose gradient also fails,
    is unexpected unless an entry explains the gradient too (a documented value finding never hides, say, a
    gradient twice the truth)."""
    path = tmp_path / "k.toml"
    path.write_text(PARTS_TOML + extra)
    r = _two_part_record()
    known.classify(r, known.load(path), FAILING)
    assert r["known_divergence"] == known_id and r["unexpected"] is (known_id is None)
    only_value = dict(_two_part_record(), failing_elements={"value": [0]})
    known.classify(only_value, known.load(path), FAILING)
    assert only_value["known_divergence"] == "value-only" and not only_value["unexpected"]
