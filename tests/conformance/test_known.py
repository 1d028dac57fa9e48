"""Known divergences: matched failures are known, vanished ones are fixed upstream, stray entries warned."""
import pytest

from conformance import known
from conformance.verdicts import FAILING

TOML = '''
[[divergence]]
id = "bce-clamp"
implementation = "torch.nn.functional.binary_cross_entropy"
dtypes = ["float32"]
versions = ">=2.0"
cases = "bce(p=0*"
verdicts = ["special_value_mismatch"]
reason = "clamps"
link = "https://example.org/1"

[[divergence]]
id = "never-run"
implementation = "nothing.*"
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

    ids = [i.id for name in FRAMEWORKS if availability(name)[0] for i in implementations_for(name)]
    if len(ids) < 40:
        pytest.skip("not every framework is installed")
    for entry in known.load():
        assert any(known._any_match(i, entry.implementation) for i in ids), entry.id


def test_status_ignores_entries_about_implementations_not_run(entries):
    r = record("accurate")
    known.classify(r, entries, FAILING)
    assert known.status(entries, {r["implementation"]})["unmatched"] == []
