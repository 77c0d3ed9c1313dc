"""One way to check every config file: JSON Schema, with one-line errors that name the key.

The experiments file, the figures file and the paper's claims (shipped in `configs/` and
`report/`) are each described by a schema in `configs/schemas/`; the pipeline's config is
described by `workflow/schemas/config.schema.yaml`, which Snakemake's `validate` reads.
JSON Schema rather than pydantic models because Snakemake already speaks it for the
pipeline's config: one language for every file, schemas that are data a reviewer can read
without Python, and every mapping closed (`additionalProperties: false`), so that a
mistyped key is an error, never a silent default.

A schema states what each value must be in its `description` (e.g. "a positive number"),
which is what the error message says. Rules JSON Schema cannot state (one value no larger
than another) stay in the class that holds the values.
"""

import difflib
import functools
import importlib.resources

import jsonschema
import yaml

from infogan.errors import ConfigError

SCHEMA_DIR = ("configs", "schemas")
TYPE_NAMES = {"integer": "an integer", "number": "a number", "boolean": "true or false", "string": "text",
              "array": "a list", "object": "a mapping", "null": "null"}


@functools.cache
def load_schema(name) -> dict:
    """The schema `configs/schemas/<name>.schema.yaml` shipped with the package."""
    path = importlib.resources.files("infogan").joinpath(*SCHEMA_DIR, f"{name}.schema.yaml")
    schema = yaml.safe_load(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def check(document, schema, where):
    """Raise ConfigError naming `where` and the first offending key, if `document` breaks `schema`
    (a schema dict, or the name of a packaged one)."""
    schema = load_schema(schema) if isinstance(schema, str) else schema
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        raise ConfigError(f"{where}: {describe(error, schema, document)}")


def describe(error, schema, document) -> str:
    """One line for a schema violation, in the words of the schema's descriptions."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        return f"unknown key {_dotted(path, unknown[0])!r}{suggest(unknown[0], allowed)}"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return f"missing key {_dotted(path, missing)!r}"
    if error.validator == "enum":
        return f"key {_key_of(path)!r} is {error.instance!r}; choose one of {error.validator_value}"
    if error.validator == "type" and not path:
        return f"expected {_wanted(error.schema)}, got {error.instance!r}"
    return f"key {_key_of(path)!r} must be {_description(schema, error)}, got {_whole_value(document, path)!r}"


def _dotted(path, leaf):
    return ".".join([*(str(p) for p in path), str(leaf)])


def _key_of(path):
    """The key a value belongs to: list positions are dropped (`adam_betas`, not `adam_betas.1`)."""
    return ".".join(str(part) for part in path if not isinstance(part, int))


def _whole_value(document, path):
    """The value of the key as the file gives it: for one item of a list, the whole list."""
    for part in path:
        if isinstance(part, int):
            break
        document = document[part]
    return document


def _description(schema, error):
    """The deepest `description` on the schema's way to the failing rule (through `$ref`s, which
    the error's schema path steps over, and `allOf`s), which says what the value must be; else
    the type the rule asked for."""
    node, found = schema, None
    for part in error.absolute_schema_path:
        while isinstance(node, dict) and part not in node and "$ref" in node:
            node = _target(node["$ref"], schema)
            found = node.get("description", found)
        node = node[part]
        if isinstance(node, dict) and "description" in node:
            found = node["description"]
    return found or _wanted(error.schema if isinstance(error.schema, dict) else {})


def _target(reference, root):
    """The schema a local `$ref` (`#/$defs/name`) points to."""
    node = root
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _wanted(schema):
    kinds = schema.get("type")
    if kinds is None:
        return "a valid value"
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return " or ".join(TYPE_NAMES.get(k, k) for k in kinds)


def suggest(key, known) -> str:
    """' (did you mean ...?)' for the known name closest to `key`, or ''."""
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
