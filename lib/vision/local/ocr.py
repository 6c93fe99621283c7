"""Text recognition: RapidOCR running the PP-OCRv6 models bundled in its wheel (Apache-2.0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.vision.local import packages
from lib.vision.local.errors import unavailable
from lib.vision.textlines import text_result
from lib.vision.types import Prediction

SLUG = "text-recognition"
ENGINE = "rapidocr-ppocrv6"
LICENCE = "Apache-2.0 (PyPI rapidocr, PP-OCR models)"
REQUIRES = ("rapidocr", "onnxruntime", "cv2", "numpy", "PIL")

# Language tags (BCP 47, lower-cased) that PP-OCRv6 lists under other names.
LANG_ALIASES = {"zh": "ch", "zh-hans": "ch", "zh-cn": "ch", "zh-hant": "chinese_cht", "zh-tw": "chinese_cht", "ja": "japan"}


@dataclass(frozen=True)
class Reader:
    engine: Any  # rapidocr.RapidOCR
    langs: frozenset[str]  # what the bundled recognition model reads


def unavailable_reason() -> str | None:
    return packages.missing(REQUIRES)


def supported_langs() -> frozenset[str]:
    from rapidocr.utils.model_resolver import list_supported_langs
    from rapidocr.utils.typings import ModelType, OCRVersion, TaskType

    return frozenset(list_supported_langs(TaskType.REC, OCRVersion.PPOCRV6, ModelType.SMALL))


def load() -> Reader:
    from rapidocr import RapidOCR

    # The defaults (PP-OCRv6 small detection and recognition, one multilingual model)
    # are exactly the files in the wheel, so nothing is ever downloaded.
    engine = RapidOCR(params={"Global.log_level": "warning"})
    return Reader(engine, supported_langs())


def check_lang(lang: str) -> str:
    """The tag as given when the bundled model reads it; 400 listing what it reads otherwise (before the charge)."""
    from lib.errors import bad_request

    langs = supported_langs()
    if bundled_lang(lang, langs) is None:
        raise bad_request("invalid_parameter", f"The offline text recognition model can't read '{lang}'. "
                          f"It reads: {', '.join(sorted(langs))}.", field="lang")
    return lang


def bundled_lang(lang: str, langs: frozenset[str]) -> str | None:
    """PP-OCRv6's name for a language tag ("zh-Hant", "pt-BR", "de"), if the bundled model reads it."""
    tag = lang.strip().lower().replace("_", "-")
    for candidate in (tag, tag.split("-")[0]):
        candidate = LANG_ALIASES.get(candidate, candidate)
        if candidate in langs:
            return candidate
    return None


def predict(reader: Reader, img, options: dict) -> Prediction:
    import numpy as np

    lang = options.get("lang")
    if lang and not bundled_lang(lang, reader.langs):
        raise unavailable(SLUG, f"the bundled PP-OCRv6 model does not read {lang!r} (it reads {', '.join(sorted(reader.langs))})")

    bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])  # RapidOCR takes arrays as OpenCV's BGR
    output = reader.engine(bgr)
    words = []
    if output.txts:
        for text, score, box in zip(output.txts, output.scores, output.boxes):
            polygon = [[round(float(x), 1), round(float(y), 1)] for x, y in box]
            words.append({"text": text, "score": round(float(score), 4), "polygon": polygon})
    return Prediction(results=text_result(words), engine=ENGINE)
