"""A fast yes/no check of a document against a JSON Schema, compiled into Python closures.

jsonschema takes minutes on a large results.json (tens of thousands of records, each with number arrays);
this check covers the keywords results.schema.json uses (type, required, properties,
additionalProperties, items, const, enum, oneOf, anyOf, local $ref, minimum, maximum) in about a second.
It only answers valid / not valid: the caller asks jsonschema for the message about the part that failed.
A schema using any other assertion keyword raises Unsupported at compile time, and the caller then uses
jsonschema for everything.
"""
from __future__ import annotations

from typing import Any, Callable

Check = Callable[[Any], bool]
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples", "$defs",
               "definitions", "deprecated", "readOnly", "writeOnly"}


class Unsupported(Exception):
    pass


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_integer(x) -> bool:
    return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())


TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "number": _is_number,
    "integer": _is_integer,
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def _equal(a, b) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


class Compiler:
    def __init__(self, root: dict):
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if pointer in self.refs:
            return self.refs[pointer]
        if not pointer.startswith("#/"):
            raise Unsupported(f"$ref {pointer}")
        target: Any = self.root
        for part in pointer[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        cell: list[Check] = []
        self.refs[pointer] = lambda x: cell[0](x)  # recursion-safe placeholder
        cell.append(self.compile(target))
        self.refs[pointer] = cell[0]
        return cell[0]

    def compile(self, schema) -> Check:
        if schema is True or schema == {}:
            return lambda x: True
        if schema is False:
            return lambda x: False
        unknown = set(schema) - ANNOTATIONS - {"type", "required", "properties", "additionalProperties", "items",
                                               "const", "enum", "oneOf", "anyOf", "$ref", "minimum", "maximum"}
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            preds = [TYPES[n] for n in names]
            checks.append(preds[0] if len(preds) == 1 else (lambda x, preds=preds: any(p(x) for p in preds)))
        if "const" in schema:
            checks.append(lambda x, c=schema["const"]: _equal(x, c))
        if "enum" in schema:
            hashable = all(isinstance(v, str) for v in schema["enum"])
            if hashable:
                checks.append(lambda x, s=frozenset(schema["enum"]): isinstance(x, str) and x in s)
            else:
                checks.append(lambda x, vs=tuple(schema["enum"]): any(_equal(x, v) for v in vs))
        if "minimum" in schema:
            checks.append(lambda x, m=schema["minimum"]: not _is_number(x) or x >= m)
        if "maximum" in schema:
            checks.append(lambda x, m=schema["maximum"]: not _is_number(x) or x <= m)
        if "oneOf" in schema:
            subs = [self.compile(s) for s in schema["oneOf"]]
            checks.append(lambda x, subs=subs: sum(1 for s in subs if s(x)) == 1)
        if "anyOf" in schema:
            subs = [self.compile(s) for s in schema["anyOf"]]
            checks.append(lambda x, subs=subs: any(s(x) for s in subs))
        if "items" in schema:
            item = self.compile(schema["items"])
            checks.append(lambda x, item=item: not isinstance(x, list) or all(item(v) for v in x))
        if "required" in schema:
            req = tuple(schema["required"])
            checks.append(lambda x, req=req: not isinstance(x, dict) or all(k in x for k in req))
        if "properties" in schema or "additionalProperties" in schema:
            props = {k: self.compile(v) for k, v in schema.get("properties", {}).items()}
            extra = schema.get("additionalProperties", True)
            extra_check = None if extra is True else self.compile(extra)

            def check_object(x, props=props, extra_check=extra_check):
                if not isinstance(x, dict):
                    return True
                for k, v in x.items():
                    p = props.get(k)
                    if p is not None:
                        if not p(v):
                            return False
                    elif extra_check is not None and not extra_check(v):
                        return False
                return True

            checks.append(check_object)
        if len(checks) == 1:
            return checks[0]
        return lambda x, checks=tuple(checks): all(c(x) for c in checks)


def compile_schema(schema: dict, pointer: str | None = None) -> Check:
    """A predicate for the whole schema, or for the subschema at a local JSON pointer ("#/$defs/record")."""
    c = Compiler(schema)
    return c.ref(pointer) if pointer else c.compile(schema)
