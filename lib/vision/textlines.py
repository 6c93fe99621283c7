"""Text recognition's words (boxes of a word or phrase, as the engines give them) grouped into lines.

A word joins a line when the two overlap vertically by at least half the smaller
height; lines read top to bottom, words in a line left to right. Both backends
answer through `text_result`, so `text` is built the same way whichever ran.
"""

from __future__ import annotations

SAME_LINE_OVERLAP = 0.5


def _bounds(polygon: list[list[float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a: tuple, b: tuple) -> float:
    """Vertical overlap of two (y0, y1) spans, as a fraction of the smaller one."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared / max(min(a[1] - a[0], b[1] - b[0]), 1e-9)


def group_lines(words: list[dict]) -> list[dict]:
    """Lines of `words` ({"text", "score", "polygon"}) in reading order: {"text", "score", "polygon"}."""
    lines: list[dict] = []  # each: span (y0, y1) and its words' bounds
    for word in sorted(words, key=lambda w: (_bounds(w["polygon"])[1] + _bounds(w["polygon"])[3]) / 2):
        x0, y0, x1, y1 = _bounds(word["polygon"])
        line = next((line for line in lines if _overlap(line["span"], (y0, y1)) >= SAME_LINE_OVERLAP), None)
        if line is None:
            lines.append({"span": (y0, y1), "members": [(x0, y0, x1, y1, word)]})
        else:
            line["members"].append((x0, y0, x1, y1, word))
            line["span"] = (min(line["span"][0], y0), max(line["span"][1], y1))
    out = []
    for line in sorted(lines, key=lambda line: line["span"][0]):
        members = sorted(line["members"], key=lambda m: m[0])
        x0, x1 = min(m[0] for m in members), max(m[2] for m in members)
        y0, y1 = line["span"]
        scores = [m[4]["score"] for m in members]
        out.append({"text": " ".join(m[4]["text"] for m in members), "score": round(sum(scores) / len(scores), 4),
                    "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]})
    return out


def text_result(words: list[dict]) -> dict:
    """The normalized `text` results: words as given, lines grouped, and text joined from the lines."""
    lines = group_lines(words)
    return {"text": "\n".join(line["text"] for line in lines), "words": words, "lines": lines}
