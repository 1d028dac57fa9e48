"""Walking a JSON document, for the tests that mutate one place of a valid document at a time
(test_fuzz_cli, report/test_report_fastcheck)."""
from __future__ import annotations


def json_paths(node, prefix: tuple = (), list_items: int | None = None):
    """Every path into `node`, itself first: dict keys and list indices (of each list only its first
    `list_items` items, when given)."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from json_paths(v, prefix + (k,), list_items)
    elif isinstance(node, list):
        for i, v in enumerate(node[:list_items]):
            yield from json_paths(v, prefix + (i,), list_items)
