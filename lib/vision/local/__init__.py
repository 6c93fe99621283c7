"""The local vision backend: pre-trained models that run offline on the CPU.

Each model's weights ship inside a package from ``requirements-vision*.txt``;
nothing is downloaded at run time. A model whose packages are missing, or for
which no weights can be had offline, answers ModelUnavailable (501) pointing at
SentiSight.ai. Importing this package is cheap: numpy, onnxruntime, mediapipe
and friends are imported when a model is first used.
"""

from __future__ import annotations

from lib.vision import catalog
from lib.vision.local import classifier, detector, loader, nsfw, ocr, pose, segmenter
from lib.vision.local.errors import unavailable
from lib.vision.local.imaging import image_bytes, load_rgb
from lib.vision.types import ImageInput, Prediction, UpstreamError, VisionError

SLUGS = tuple(catalog.MODELS)
RUNNERS = {module.SLUG: module for module in (classifier, detector, nsfw, ocr, pose, segmenter)}
# Why the others (places, instance segmentation) have no runner.
NO_WEIGHTS = "no pre-trained weights for it ship in a package this machine can install (PyPI, npm or Debian) under a usable licence"


class LocalBackend:
    name = "local"

    def availability(self) -> dict[str, dict]:
        """Per model: can it run here, on which engine (and the licence of its weights), and if not, why. Loads nothing."""
        report = {}
        for slug in SLUGS:
            runner = RUNNERS.get(slug)
            if runner is None:
                report[slug] = {"available": False, "engine": "none", "licence": None, "reason": NO_WEIGHTS}
                continue
            reason = runner.unavailable_reason()
            failed = loader.failure(runner.ENGINE)
            if reason is None and failed:
                reason = f"the model failed to load: {failed}"
            report[slug] = {"available": reason is None, "engine": runner.ENGINE, "licence": runner.LICENCE, "reason": reason}
        return report

    def prepare(self, slug: str, image: ImageInput, options: dict) -> tuple[ImageInput, dict]:
        """Before the charge: fetch an image URL and check the bytes like an upload (type, real frame
        size); check the OCR language against the bundled model."""
        from lib.vision.inputs import check_image

        if image.data is None and image.url:
            checked = check_image(image_bytes(image))
            image = ImageInput(data=checked.data, url=image.url, mime=checked.mime, width=checked.width, height=checked.height)
        if slug == ocr.SLUG and options.get("lang"):
            options = {**options, "lang": ocr.check_lang(options["lang"])}
        return image, options

    def predict(self, slug: str, image: ImageInput, options: dict) -> Prediction:
        runner = RUNNERS.get(slug)
        if runner is None:
            raise unavailable(slug, NO_WEIGHTS if slug in SLUGS else "there is no such model")
        reason = runner.unavailable_reason()
        if reason:
            raise unavailable(slug, reason)
        img = load_rgb(image)  # before loading, so a bad image never waits for a model
        try:
            model = loader.get(runner.ENGINE, runner.load)
        except loader.LoadFailed as exc:
            raise unavailable(slug, "its model failed to load on this server", detail=str(exc)) from exc
        try:
            prediction = runner.predict(model, img, options or {})
        except VisionError:
            raise
        except Exception as exc:  # a model that crashes on an input is an upstream failure, refunded
            raise UpstreamError(f"The local {slug} model failed on this image.", detail=f"{type(exc).__name__}: {exc}") from exc
        # The size the coordinates refer to (upright, as displayed), also known for fetched URLs.
        prediction.extra.update(width=img.width, height=img.height)
        return prediction
