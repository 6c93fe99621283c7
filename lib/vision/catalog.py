"""The eight models NexusPoint sells: the one table every page, price and backend reads."""

from __future__ import annotations

from typing import NamedTuple

from lib.vision import options

OUTPUT_KINDS = ("labels", "boxes", "polygons", "text", "keypoints", "image")
FILTERS = ("min_confidence", "max_results")  # on every model that returns labels, objects or people


class Model(NamedTuple):  # a NamedTuple: cheaper to define than a frozen dataclass on a cold start (bench/cold_start.py)
    slug: str  # the URL segment: POST /api/vision/<slug>
    name: str  # what people read
    sentisight_name: str  # SentiSight.ai's pre-trained model name in /pm-predict/<name>
    cost: int  # credits per successful call
    output: str  # one of OUTPUT_KINDS; lib/vision/types.py describes each
    description: str
    options: tuple[str, ...] = ()  # optional parameters the model understands

    def public(self) -> dict:
        return {
            "slug": self.slug, "name": self.name, "cost": self.cost, "output": self.output,
            "description": self.description, "options": list(self.options), "option_specs": options.described(self),
        }


MODELS: dict[str, Model] = {m.slug: m for m in (
    Model("general-classification", "General classification", "General-classification", 1, "labels",
          "Names what the picture shows, from everyday objects to animals and scenes.", FILTERS),
    Model("places-classification", "Places classification", "Places-classification", 1, "labels",
          "Tells where a photo was taken: kitchen, beach, airport, forest and hundreds more.", FILTERS),
    Model("nsfw-classification", "NSFW classification", "NSFW-classification", 1, "labels",
          "Scores whether an image is safe or unsafe for work.", FILTERS),
    Model("object-detection", "Object detection", "Object-detection", 2, "boxes",
          "Finds the objects in an image and draws a labelled box around each one.", FILTERS),
    Model("text-recognition", "Text recognition", "Text-recognition", 3, "text",
          "Reads the printed text in an image: its words and phrases, grouped into lines in reading order.", ("lang",)),
    Model("pose-estimation", "Pose estimation", "Pose-estimation", 3, "keypoints",
          "Locates the people in an image and the joints of each body.", FILTERS),
    Model("instance-segmentation", "Instance segmentation", "Instance-segmentation", 5, "polygons",
          "Outlines every object with a polygon that follows its shape.", FILTERS),
    Model("background-removal", "Background removal", "Background-removal", 5, "image",
          "Cuts out the subject and returns a PNG with a transparent background."),
)}


def get(slug: str) -> Model:
    """The model with this slug; KeyError for an unknown one."""
    return MODELS[slug]
