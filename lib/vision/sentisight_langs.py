"""SentiSight's text recognition languages: EasyOCR's codes, and the BCP-47 tags people type for them."""

from __future__ import annotations

from lib.errors import bad_request

EASYOCR_CODES = frozenset("""
abq ady af ang ar as ava az be bg bh bho bn bs ch_sim ch_tra che cs cy da dar de en es et fa fr ga gom hi hr hu
id inh is it ja kbd kn ko ku la lbe lez lt lv mah mai mi mn mr ms mt ne new nl no oc pi pl pt ro ru rs_cyrillic
rs_latin sck sk sl sq sv sw ta tab te th tjk tl tr ug uk ur uz vi
""".split())  # noqa: SIM905 (a word list reads better as words)
# Lower-cased BCP-47 tags whose EasyOCR name is not the tag's first part.
ALIASES = {
    "zh": "ch_sim", "zh-hans": "ch_sim", "zh-cn": "ch_sim", "zh-sg": "ch_sim",
    "zh-hant": "ch_tra", "zh-tw": "ch_tra", "zh-hk": "ch_tra", "zh-mo": "ch_tra",
    "sr": "rs_cyrillic", "sr-cyrl": "rs_cyrillic", "sr-latn": "rs_latin",
    "nb": "no", "nn": "no", "tg": "tjk", "fil": "tl",
}


def easyocr_code(lang: str) -> str:
    """SentiSight's code for a language tag ("zh-Hant", "pt-BR", "ch_sim"); 400 listing the codes it reads."""
    tag = lang.strip().lower()
    if tag in EASYOCR_CODES:
        return tag
    tag = tag.replace("_", "-")
    for candidate in (tag, tag.split("-")[0]):
        code = ALIASES.get(candidate, candidate)
        if code in EASYOCR_CODES:
            return code
    raise bad_request("invalid_parameter", f"Text recognition can't read the language '{lang}'. Supported: "
                      f"{', '.join(sorted(EASYOCR_CODES))} (or BCP-47 tags such as zh-Hans, zh-Hant, sr-Latn, pt-BR).", field="lang")
