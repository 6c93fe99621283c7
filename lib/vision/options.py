"""The optional parameters of a vision call: validated before the charge, applied to the results after.

`min_confidence` and `max_results` work on every model that returns labels,
objects or people, the same way whichever backend answered: results are cut
here, after the backend's own normalization, never by the backend alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lib.errors import bad_request

if TYPE_CHECKING:
    from lib.vision import catalog

SPECS = {
    "min_confidence": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "Leave out results scoring below this (0-1)."},
    "max_results": {"type": "integer", "minimum": 1, "maximum": 100,
                    "description": "Return at most this many results, best first (1-100)."},
    "lang": {"type": "string", "maxLength": 12,
             "description": "The language of the text, as a code such as 'en', 'de', 'zh-Hans' or 'sr-Latn'."},
}
FIELDS = tuple(SPECS)
RESULT_LISTS = {"labels": "labels", "boxes": "objects", "polygons": "objects", "keypoints": "people"}


def described(model: catalog.Model) -> dict:
    """The options `model` understands, as listed by /api/vision/models and the OpenAPI spec."""
    return {name: SPECS[name] for name in model.options}


def _number(name: str, value, integer: bool):
    spec = SPECS[name]
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)) or value != value:
        value = None
    if value is None or not spec["minimum"] <= value <= spec["maximum"]:
        kind = "a whole number" if integer else "a number"
        raise bad_request("invalid_parameter", f"'{name}' must be {kind} from {spec['minimum']} to {spec['maximum']}.", field=name)
    return value


def parse(model: catalog.Model, raw: dict) -> dict:
    """The options of this call, checked; 400 `invalid_parameter` naming the field that is wrong."""
    from lib.vision.inputs import check_lang

    options = {}
    for name, value in raw.items():
        if value is None or value == "":
            continue
        if name not in model.options:
            takes = ", ".join(model.options) or "no options"
            raise bad_request("invalid_parameter", f"'{model.slug}' has no option '{name}' (it takes {takes}).", field=name)
        if name == "lang":
            options[name] = check_lang(value)
        else:
            options[name] = _number(name, value, integer=name == "max_results")
    return options


def apply(model: catalog.Model, results: dict, options: dict) -> dict:
    """`results` with `min_confidence` and `max_results` applied (best first); a None score is never cut."""
    key = RESULT_LISTS.get(model.output)
    if key is None or not (options.keys() & {"min_confidence", "max_results"}):
        return results
    entries = sorted(results.get(key, []), key=lambda entry: -(entry.get("score") or 0))
    floor = options.get("min_confidence")
    if floor is not None:
        entries = [entry for entry in entries if entry.get("score") is None or entry["score"] >= floor]
    return {**results, key: entries[:options.get("max_results", len(entries))]}
