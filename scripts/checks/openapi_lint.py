"""Lints the API's hand-written OpenAPI document.

Usage:
    python3 scripts/checks/openapi_lint.py [PATH]

PATH defaults to Sources/Server/OpenAPI/openapi.json next to this script's repository. Needs
`openapi-spec-validator` (`python3 -m pip install openapi-spec-validator`), which brings
`jsonschema` and `referencing`.

Checks:
  - openapi-spec-validator (OpenAPI 3.1) accepts the document;
  - every `$ref` is local (`#/…`) and resolves;
  - every operation has an `operationId`, a `summary` and `tags`, and operationIds are unique;
  - every `{name}` in a path template is declared as a path parameter (on the path or the
    operation), and every declared path parameter appears in the template; templates use `{id}`,
    never `:id`;
  - every link names an existing operationId and only parameters that operation has;
  - every tag an operation uses is declared at the top level;
  - every `example`/`examples` value (schemas, media types, parameters) validates against its
    schema, so a fuzzer's first requests built from them are well-formed.

Prints `ok   NAME` or `FAIL NAME: detail` per check; exits 1 on any failure.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOC_URI = "urn:posthorn:openapi"


def pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Resolves a JSON pointer (`/components/schemas/Run`); raises KeyError/IndexError if it does not."""
    node = document
    if pointer in ("", "/"):
        return node
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(token)
    return node


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    """Every (pointer, value) in the document, depth first."""
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{pointer}/{pointer_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{pointer}/{index}")


def deref(document: Any, node: Any) -> Any:
    """Follows `$ref`s (local only) until a non-reference object."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        target = node["$ref"]
        if target in seen:
            raise ValueError(f"reference cycle at {target}")
        seen.add(target)
        node = resolve_pointer(document, target[1:])
    return node


class Lint:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.failures = 0

    def report(self, name: str, problems: list[str]) -> None:
        if problems:
            self.failures += 1
            print(f"FAIL {name}: {len(problems)} problem(s)")
            for problem in problems:
                print(f"       - {problem}")
        else:
            print(f"ok   {name}")

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        for path, item in self.document.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    yield path, method, item, item[method]

    # -- checks --------------------------------------------------------------------------------

    def spec_validator(self) -> None:
        problems = []
        try:
            for error in OpenAPIV31SpecValidator(self.document).iter_errors():
                location = "/".join(str(part) for part in error.absolute_path)
                problems.append(f"{location or '(root)'}: {error.message[:300]}")
        except Exception as error:  # The validator raises instead of reporting e.g. a dangling $ref.
            problems.append(f"the validator stopped: {type(error).__name__}: {str(error).split(' within ')[0][:300]}")
        self.report("openapi-spec-validator (OpenAPI 3.1)", problems)

    def refs_resolve(self) -> None:
        problems = []
        count = 0
        for pointer, node in walk(self.document):
            if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
                continue
            count += 1
            target = node["$ref"]
            if not target.startswith("#/"):
                problems.append(f"{pointer}: non-local $ref {target!r}")
                continue
            try:
                resolve_pointer(self.document, target[1:])
            except (KeyError, IndexError, ValueError):
                problems.append(f"{pointer}: $ref {target!r} does not resolve")
        self.report(f"every $ref resolves ({count} refs)", problems)

    def operation_metadata(self) -> None:
        problems = []
        seen: dict[str, str] = {}
        declared_tags = {tag["name"] for tag in self.document.get("tags", [])}
        for path, method, _, operation in self.operations():
            where = f"{method.upper()} {path}"
            operation_id = operation.get("operationId")
            if not operation_id:
                problems.append(f"{where}: no operationId")
            elif operation_id in seen:
                problems.append(f"{where}: operationId {operation_id!r} also used by {seen[operation_id]}")
            else:
                seen[operation_id] = where
            if not operation.get("summary"):
                problems.append(f"{where}: no summary")
            tags = operation.get("tags") or []
            if not tags:
                problems.append(f"{where}: no tags")
            for tag in tags:
                if tag not in declared_tags:
                    problems.append(f"{where}: tag {tag!r} is not declared at the top level")
            if not any(code.startswith("2") for code in operation.get("responses", {})):
                problems.append(f"{where}: no 2xx response")
        self.report(f"every operation has a unique operationId, a summary and tags ({len(seen)} operations)", problems)

    def path_parameters(self) -> None:
        problems = []
        for path, method, item, operation in self.operations():
            where = f"{method.upper()} {path}"
            if re.search(r"/:[^/]+", path):
                problems.append(f"{where}: Hummingbird-style `:name` segment; use `{{name}}`")
            templated = set(re.findall(r"\{([^}/]+)\}", path))
            declared: set[str] = set()
            # Operation-level parameters override path-level ones with the same name and location.
            for parameter in list(item.get("parameters", [])) + list(operation.get("parameters", [])):
                parameter = deref(self.document, parameter)
                if parameter.get("in") == "path":
                    declared.add(parameter["name"])
                    if parameter.get("required") is not True:
                        problems.append(f"{where}: path parameter {parameter['name']!r} is not required: true")
            for name in sorted(templated - declared):
                problems.append(f"{where}: path parameter {{{name}}} is not declared")
            for name in sorted(declared - templated):
                problems.append(f"{where}: declared path parameter {name!r} is not in the template")
        self.report("every path parameter is declared (and every declared one is templated)", problems)

    def links(self) -> None:
        problems = []
        by_id = {operation.get("operationId"): (path, item, operation) for path, _, item, operation in self.operations()}
        count = 0
        for path, method, _, operation in self.operations():
            for code, response in operation.get("responses", {}).items():
                response = deref(self.document, response)
                for name, link in response.get("links", {}).items():
                    count += 1
                    where = f"{method.upper()} {path} {code} link {name}"
                    link = deref(self.document, link)
                    target_id = link.get("operationId")
                    if target_id not in by_id:
                        problems.append(f"{where}: unknown operationId {target_id!r}")
                        continue
                    _, target_item, target = by_id[target_id]
                    names = {
                        deref(self.document, parameter)["name"]
                        for parameter in list(target_item.get("parameters", [])) + list(target.get("parameters", []))
                    }
                    for parameter in link.get("parameters", {}):
                        bare = parameter.split(".", 1)[-1] if "." in parameter else parameter
                        if bare not in names:
                            problems.append(f"{where}: {target_id} has no parameter {parameter!r}")
                    for parameter, expression in link.get("parameters", {}).items():
                        if isinstance(expression, str) and expression.startswith("$response.body#"):
                            self.check_body_pointer(response, expression, where, problems)
        self.report(f"every link targets an existing operation and parameter ({count} links)", problems)

    def check_body_pointer(self, response: dict[str, Any], expression: str, where: str, problems: list[str]) -> None:
        """`$response.body#/id` must name a property the response schema declares as required."""
        pointer = expression.split("#", 1)[1]
        for media in response.get("content", {}).values():
            schema = deref(self.document, media.get("schema", {}))
            for token in pointer.lstrip("/").split("/"):
                if token.isdigit() and (schema.get("type") == "array" or "items" in schema):
                    # An element of an array: there must always be that many.
                    if schema.get("minItems", 0) <= int(token):
                        problems.append(f"{where}: {expression} names item {token}, but the array may have fewer (minItems)")
                        return
                    schema = deref(self.document, schema.get("items", {}))
                    continue
                properties, required = self.collect_properties(schema)
                if token not in properties:
                    problems.append(f"{where}: {expression} names {token!r}, not a property of the response")
                    return
                if token not in required:
                    problems.append(f"{where}: {expression} names {token!r}, which the response does not always carry")
                schema = deref(self.document, properties[token])

    def collect_properties(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        properties = dict(schema.get("properties", {}))
        required = set(schema.get("required", []))
        for part in schema.get("allOf", []):
            more, more_required = self.collect_properties(deref(self.document, part))
            properties.update(more)
            required |= more_required
        return properties, required

    def examples_validate(self) -> None:
        registry = Registry().with_resource(DOC_URI, Resource.from_contents(self.document, default_specification=DRAFT202012))
        problems: list[str] = []
        count = 0

        def check(schema_pointer: str, value: Any, where: str) -> None:
            nonlocal count
            count += 1
            validator = Draft202012Validator({"$ref": f"{DOC_URI}#{schema_pointer}"}, registry=registry)
            for error in validator.iter_errors(value):
                location = "/".join(str(part) for part in error.absolute_path)
                problems.append(f"{where}{' at ' + location if location else ''}: {error.message[:200]}")

        for pointer, node in walk(self.document):
            if not isinstance(node, dict):
                continue
            parent = pointer.rsplit("/", 1)[-1] if pointer else ""
            in_schema = "/schemas/" in pointer or pointer.endswith("/schema") or "/schema/" in pointer
            looks_like_schema = any(key in node for key in ("type", "allOf", "oneOf", "anyOf", "$ref", "const", "enum"))
            # A schema with `example` (OpenAPI's keyword) or `examples` (JSON Schema's, a list).
            if in_schema and looks_like_schema and parent != "properties":
                if "example" in node:
                    check(pointer, node["example"], f"{pointer}/example")
                if isinstance(node.get("examples"), list):
                    for index, example in enumerate(node["examples"]):
                        check(pointer, example, f"{pointer}/examples/{index}")
            # A media type or parameter object with `schema` and `example`/`examples`.
            if "schema" in node and isinstance(node["schema"], dict) and parent != "properties":
                schema_pointer = f"{pointer}/schema"
                if "example" in node:
                    check(schema_pointer, node["example"], f"{pointer}/example")
                for name, example in (node.get("examples") or {}).items() if isinstance(node.get("examples"), dict) else []:
                    example = deref(self.document, example)
                    if "value" in example:
                        check(schema_pointer, example["value"], f"{pointer}/examples/{name}")
        self.report(f"every example validates against its schema ({count} examples)", problems)


def main() -> int:
    default = Path(__file__).resolve().parents[2] / "Sources" / "Server" / "OpenAPI" / "openapi.json"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        print(f"FAIL load {path}: {error}")
        return 1
    print(f"ok   load {path}")
    lint = Lint(document)
    for check in (
        lint.spec_validator, lint.refs_resolve, lint.operation_metadata, lint.path_parameters, lint.links,
        lint.examples_validate,
    ):
        try:
            check()
        except Exception as error:  # One broken part (a dangling $ref) must not hide the other checks.
            lint.report(check.__name__, [f"crashed: {type(error).__name__}: {str(error)[:300]}"])
    operations = sum(1 for _ in lint.operations())
    print(f"{len(document.get('paths', {}))} paths, {operations} operations")
    if lint.failures:
        print(f"{lint.failures} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
