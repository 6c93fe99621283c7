"""Bytes each page ships of its own: the HTML, its stylesheets and its scripts with every ES module they import.

Followed from each public/*.html: `<script src>`, `<link rel=stylesheet|modulepreload href>`,
CSS `@import`, and static and dynamic ES module imports, each file counted
once per page. public/vendor/ (third-party, cached across releases) is left
out of the total and shown apart. Sizes are raw and gzip -9, as a CDN serves them.

    python -m bench.page_weight
"""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

from bench._setup import Figure

PUBLIC = Path(__file__).resolve().parent.parent / "public"
VENDOR = PUBLIC / "vendor"
LINK_RELS = {"stylesheet", "modulepreload"}
JS_IMPORTS = [
    re.compile(r"""\b(?:import|export)\s[^;"'`]*?\bfrom\s*["']([^"']+)["']""", re.S),  # import x from "y", export {a} from "y"
    re.compile(r"""\bimport\s*["']([^"']+)["']"""),  # import "y" (side effects only)
    re.compile(r"""\bimport\s*\(\s*["']([^"']+)["']\s*\)"""),  # import("y")
    re.compile(r"""["'](/vendor/[^"']+)["']"""),  # a vendor script injected at run time (shown apart)
]
CSS_IMPORTS = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""")


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.refs.append(a["src"])
        elif tag == "link" and a.get("href") and LINK_RELS & set((a.get("rel") or "").lower().split()):
            self.refs.append(a["href"])


def _resolve(ref: str, base: Path) -> Path | None:
    """A local file for a reference, or None for other hosts and data: URLs."""
    ref = ref.split("?")[0].split("#")[0]
    if not ref or re.match(r"^[a-z]+:|^//", ref, re.I):
        return None
    path = (PUBLIC / ref.lstrip("/")) if ref.startswith("/") else (base.parent / ref)
    path = path.resolve()
    return path if path.is_file() else None


def _references(file: Path) -> list[str]:
    text = file.read_text(errors="replace")
    if file.suffix == ".html":
        parser = _Assets()
        parser.feed(text)
        return parser.refs
    if file.suffix == ".css":
        return CSS_IMPORTS.findall(text)
    if file.suffix in (".js", ".mjs"):
        return [m for pattern in JS_IMPORTS for m in pattern.findall(text)]
    return []


def page_files(page: Path) -> tuple[list[Path], list[Path]]:
    """(the page's own files, vendor files it loads), each once."""
    own, vendor, queue, seen = [], [], [page.resolve()], set()
    while queue:
        file = queue.pop()
        if file in seen:
            continue
        seen.add(file)
        if VENDOR in file.parents:
            vendor.append(file)
            continue  # vendor code is counted apart and not followed
        own.append(file)
        queue += [f for ref in _references(file) if (f := _resolve(ref, file)) is not None]
    return own, vendor


def _sizes(files: list[Path]) -> tuple[int, int]:
    data = [f.read_bytes() for f in files]
    return sum(map(len, data)), sum(len(gzip.compress(d, 9)) for d in data)


def run() -> list[Figure]:
    figures = []
    print("Page weight: each page's own HTML + CSS + JS (ES module imports followed; public/vendor/ apart)")
    for page in sorted(PUBLIC.glob("*.html")):
        own, vendor = page_files(page)
        raw, gz = _sizes(own)
        vendor_note = f"; + vendor {_sizes(vendor)[0] / 1024:.1f} KB ({', '.join(f.name for f in vendor)})" if vendor else ""
        print(f"  {page.name:<16} {raw / 1024:7.1f} KB raw  {gz / 1024:6.1f} KB gzip  {len(own):3} files{vendor_note}")
        figures.append(Figure(f"page weight: {page.name}", f"{raw / 1024:.1f} KB ({gz / 1024:.1f} KB gzip, {len(own)} files)"))
    return figures


if __name__ == "__main__":
    from bench._setup import print_table

    print_table(run())
