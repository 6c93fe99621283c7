"""Routes requests the way Vercel does, so `make dev` and the tests see production's URLs.

- every `api/**/*.py` at its path without `.py`; `index.py` at its folder;
  `[name].py` matches one segment and passes it as query parameter `name`;
  files and folders starting with `_` are not routes;
- `public/` as static files with vercel.json's `cleanUrls`, `rewrites` and `headers`;
- an unknown `/api/...` path is a JSON 404.
It never re-implements what a function does: it only finds and calls its `app`.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/json", ".json")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("image/webp", ".webp")


@dataclass
class ApiRoute:
    path: str
    file: Path
    pattern: re.Pattern
    params: tuple[str, ...]
    dynamic: bool


def _route_for(file: Path, api_dir: Path) -> ApiRoute | None:
    rel = file.relative_to(api_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if any(p.startswith("_") for p in parts):
        return None
    if parts[-1] == "index":
        parts.pop()
    regex, params = [], []
    for part in parts:
        match = re.fullmatch(r"\[(\w+)\]", part)
        if match:
            params.append(match.group(1))
            regex.append(r"([^/]+)")
        else:
            regex.append(re.escape(part))
    return ApiRoute("/" + "/".join(parts), file, re.compile("^/" + "/".join(regex) + "/?$"), tuple(params), bool(params))


def api_routes(root: Path = ROOT) -> list[ApiRoute]:
    """Every function, static paths before dynamic ones (as Vercel prefers)."""
    api_dir = root / "api"
    routes = [r for f in sorted(api_dir.rglob("*.py")) if "__pycache__" not in f.parts and (r := _route_for(f, api_dir))]
    return sorted(routes, key=lambda r: (r.dynamic, r.path))


def _segment_pattern(source: str) -> tuple[re.Pattern, list[str]]:
    """Vercel's path-to-regexp subset: `:name`, `:name*` (rest of path), `(.*)`."""
    names, out = [], []
    for token in re.split(r"(:\w+\*?|\(\.\*\))", source):
        if token == "(.*)":
            names.append(str(len(names) + 1))
            out.append("(.*)")
        elif token.startswith(":"):
            star = token.endswith("*")
            names.append(token[1:].rstrip("*"))
            out.append("(.*)" if star else "([^/]+)")
        else:
            out.append(re.escape(token))
    return re.compile("^" + "".join(out) + "$"), names


class Router:
    def __init__(self, root: Path = ROOT, extra_apps: dict | None = None):
        self.root = root
        self.public = root / "public"
        self.config = json.loads((root / "vercel.json").read_text())
        self.routes = api_routes(root)
        self.apps: dict[Path, object] = {}
        self.extra_apps = extra_apps or {}
        self.rewrites = [(*_segment_pattern(r["source"]), r["destination"]) for r in self.config.get("rewrites", [])]
        self.header_rules = [(_segment_pattern(h["source"])[0], h["headers"]) for h in self.config.get("headers", [])]

    def load(self, route: ApiRoute):
        if route.file not in self.apps:
            name = "api_" + re.sub(r"\W", "_", route.path)
            spec = importlib.util.spec_from_file_location(name, route.file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            self.apps[route.file] = module.app
        return self.apps[route.file]

    def match_api(self, path: str):
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                return route, dict(zip(route.params, m.groups()))
        return None, {}

    def rewrite(self, path: str) -> str:
        for pattern, names, destination in self.rewrites:
            m = pattern.match(path)
            if m:
                for name, value in zip(names, m.groups()):
                    destination = destination.replace(f":{name}*", value).replace(f":{name}", value).replace(f"${name}", value)
                return destination
        return path

    def extra_headers(self, path: str) -> list[tuple[str, str]]:
        return [(h["key"], h["value"]) for pattern, headers in self.header_rules if pattern.match(path) for h in headers]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        original = path
        for prefix, app in self.extra_apps.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app(environ, start_response)
        if not self._filesystem_hit(path):
            path = self.rewrite(path)
        if path.startswith("/api/") or path == "/api":
            return self._api(environ, start_response, path)
        return self._static(environ, start_response, path, original)

    def _filesystem_hit(self, path: str) -> bool:
        return self.match_api(path)[0] is not None or self._static_file(path) is not None

    def _api(self, environ, start_response, path):
        route, params = self.match_api(path)
        if route is None:
            body = json.dumps({"error": {"code": "not_found", "message": f"No API route {path}."}}).encode()
            return self._send(start_response, "404 Not Found", body, "application/json", path)
        environ = dict(environ, PATH_INFO=path)
        if params:
            qs = environ.get("QUERY_STRING", "")
            # The path's value comes first, so it wins over a same-named query parameter.
            environ["QUERY_STRING"] = urlencode(params) + ("&" + qs if qs else "")
        app = self.load(route)
        extra = self.extra_headers(path)

        def start(status, headers, exc_info=None):
            return start_response(status, headers + [h for h in extra if h[0].lower() not in {k.lower() for k, _ in headers}], exc_info)

        return app(environ, start)

    def _static_file(self, path: str) -> Path | None:
        rel = path.lstrip("/")
        if ".." in Path(rel).parts:
            return None
        candidates = [self.public / rel / "index.html"] if rel == "" or path.endswith("/") else [self.public / rel]
        if self.config.get("cleanUrls") and not rel.endswith(".html"):
            candidates += [self.public / f"{rel}.html", self.public / rel / "index.html"]
        for file in candidates:
            if file.is_file() and self.public in file.resolve().parents:
                return file
        return None

    def _static(self, environ, start_response, path, original):
        file = self._static_file(path)
        if self.config.get("cleanUrls") and path.endswith(".html") and path == original and file is not None:
            # Only to a page that exists, with one leading slash: `//evil.example` would be another host.
            clean = "/" + path[: -len(".html")].lstrip("/")
            clean = clean[: -len("index")] if clean.endswith("/index") else clean
            qs = environ.get("QUERY_STRING", "")
            location = quote(clean) + (f"?{qs}" if qs else "")
            start_response("308 Permanent Redirect", [("Location", location), ("Content-Length", "0"), *self.extra_headers(original)])
            return [b""]
        status = "200 OK"
        if file is None:
            file, status = self.public / "404.html", "404 Not Found"
            if not file.is_file():
                return self._send(start_response, status, b"Not found", "text/plain; charset=utf-8", original)
        body = file.read_bytes()
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/json", "image/svg+xml"):
            ctype += "; charset=utf-8"
        if environ.get("REQUEST_METHOD") == "HEAD":
            return self._send(start_response, status, b"", ctype, original, len(body))
        return self._send(start_response, status, body, ctype, original)

    def _send(self, start_response, status, body, ctype, path, length=None):
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body) if length is None else length))]
        headers += self.extra_headers(path)
        start_response(status, headers)
        return [body]
