"""The model table and the function files built from it."""

from __future__ import annotations

import re
from pathlib import Path

from lib.vision import catalog

API_VISION = Path(__file__).resolve().parents[2] / "api" / "vision"


def test_the_eight_models_with_their_sentisight_names():
    assert {slug: m.sentisight_name for slug, m in catalog.MODELS.items()} == {
        "general-classification": "General-classification", "places-classification": "Places-classification",
        "nsfw-classification": "NSFW-classification", "object-detection": "Object-detection",
        "instance-segmentation": "Instance-segmentation", "text-recognition": "Text-recognition",
        "pose-estimation": "Pose-estimation", "background-removal": "Background-removal",
    }


def test_prices_follow_the_cost_of_the_work():
    cost = {slug: m.cost for slug, m in catalog.MODELS.items()}
    assert cost["general-classification"] == cost["places-classification"] == cost["nsfw-classification"] == 1
    assert all(2 <= cost[s] <= 3 for s in ("object-detection", "text-recognition", "pose-estimation"))
    assert cost["instance-segmentation"] == cost["background-removal"] == 5


def test_each_model_has_a_two_line_function_file_and_nothing_else_does():
    files = {p.stem for p in API_VISION.glob("*.py")} - {"models"}
    assert files == set(catalog.MODELS)
    for slug in catalog.MODELS:
        code = [line for line in (API_VISION / f"{slug}.py").read_text().splitlines() if line.strip()]
        assert code == ["from lib.vision.endpoint import vision_app", f'app = vision_app("{slug}")']


def test_public_view_names_every_field_the_pages_show():
    view = catalog.get("text-recognition").public()
    assert view == {"slug": "text-recognition", "name": "Text recognition", "cost": 3, "output": "text",
                    "description": view["description"], "options": ["lang"], "option_specs": {"lang": view["option_specs"]["lang"]}}
    filters = {"min_confidence": {"type": "number", "minimum": 0, "maximum": 1}, "max_results": {"type": "integer", "minimum": 1, "maximum": 100}}
    for model in catalog.MODELS.values():
        specs = model.public()["option_specs"]
        takes_filters = model.output in ("labels", "boxes", "polygons", "keypoints")  # labels, objects or people
        assert all(specs.get(name, {}).items() >= spec.items() for name, spec in filters.items()) == takes_filters, model.slug
    assert all(m.output in catalog.OUTPUT_KINDS and re.fullmatch(r"[a-z-]+", m.slug) for m in catalog.MODELS.values())
