"""Every declared implementation of every installed framework speaks the reference's vocabulary
(reference.OPS: op names, input names, params) and documents its conventions with a link."""
from __future__ import annotations

import pytest

import reference
from conformance.adapters import FRAMEWORKS, availability, implementations_for
from conformance.adapters.implementation import DTYPES

IMPLS = [impl for name in FRAMEWORKS if availability(name)[0] for impl in implementations_for(name)]


def test_ids_are_unique_across_frameworks():
    ids = [impl.id for impl in IMPLS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("impl", IMPLS, ids=lambda impl: impl.id)
def test_declaration_uses_reference_vocabulary(impl):
    spec = reference.OPS[impl.op]
    params = set(spec.params)  # with the optional ones (where=, sample_weight=)
    assert set(impl.params) <= params
    assert set(impl.fixed_params) <= params
    for convention in impl.conventions:
        assert set(convention.ref_params) <= params, convention.key
    assert set(impl.grads) <= set(spec.differentiable)
    assert impl.dtypes and set(impl.dtypes) <= set(DTYPES)
    assert impl.link.startswith("https://")


@pytest.mark.parametrize("impl", IMPLS, ids=lambda impl: impl.id)
def test_conventions_have_links_and_unique_keys(impl):
    keys = [c.key for c in impl.conventions]
    assert len(keys) == len(set(keys))
    for convention in impl.conventions:
        assert convention.link.startswith("https://"), convention.key
        assert convention.description
