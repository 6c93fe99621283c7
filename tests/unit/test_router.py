"""local.router routes like Vercel: checked on a throwaway project tree, not the real one."""

from __future__ import annotations

import io
import json
import textwrap
from urllib.parse import unquote

import pytest

from local.router import Router, api_routes
from tests.client import Client

# A function file that says which file answered and what it was given.
ECHO = textwrap.dedent('''
    import json

    NAME = {name!r}


    def app(environ, start_response):
        body = json.dumps({{"file": NAME, "path": environ["PATH_INFO"], "query": environ.get("QUERY_STRING", "")}}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Set-By", "function")])
        return [body]
''')

VERCEL_JSON = {
    "cleanUrls": True,
    "rewrites": [
        {"source": "/dashboard/:section", "destination": "/dashboard"},
        {"source": "/u/:name", "destination": "/api/tokens/:name"},
        {"source": "/docs/:rest*", "destination": "/manual.html"},
    ],
    "headers": [
        {"source": "/(.*)", "headers": [{"key": "X-Everywhere", "value": "yes"}]},
        {"source": "/api/(.*)", "headers": [{"key": "X-Api-Only", "value": "1"}, {"key": "X-Set-By", "value": "vercel.json"}]},
    ],
}

FUNCTIONS = ["x/index", "tokens/index", "tokens/[id]", "tokens/new", "items/[item]/photos/[photo]", "plain"]


@pytest.fixture
def project(tmp_path):
    """A project tree with functions, private helpers, pages and a vercel.json."""
    api = tmp_path / "api"
    for name in FUNCTIONS:
        file = api / f"{name}.py"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(ECHO.format(name=name))
    (api / "_private.py").write_text(ECHO.format(name="_private"))
    (api / "_lib").mkdir()
    (api / "_lib" / "helper.py").write_text(ECHO.format(name="_lib/helper"))
    (api / "__pycache__").mkdir()
    (api / "__pycache__" / "stale.py").write_text(ECHO.format(name="stale"))
    public = tmp_path / "public"
    (public / "css").mkdir(parents=True)
    (public / "guide").mkdir()
    (public / "dashboard").mkdir()
    (public / "index.html").write_text("<h1>home</h1>")
    (public / "about.html").write_text("<h1>about</h1>")
    (public / "dashboard.html").write_text("<h1>dashboard</h1>")
    (public / "dashboard" / "help.html").write_text("<h1>dashboard help</h1>")
    (public / "manual.html").write_text("<h1>manual</h1>")
    (public / "guide" / "index.html").write_text("<h1>guide</h1>")
    (public / "css" / "site.css").write_text("body{}")
    (public / "app.js").write_text("export {}")
    (public / "404.html").write_text("<h1>lost</h1>")
    (tmp_path / "secret.txt").write_text("do not serve")
    (tmp_path / "vercel.json").write_text(json.dumps(VERCEL_JSON))
    return tmp_path


@pytest.fixture
def site(project):
    """An in-process client for the throwaway project's router."""
    return Client(Router(root=project), origin=None)


def answered_by(result) -> str:
    assert result.status_code == 200, result
    return result.json()["file"]


# -- functions ---------------------------------------------------------------

def test_every_function_file_is_a_route_at_its_path_without_py(site):
    assert answered_by(site.get("/api/plain")) == "plain"
    assert site.get("/api/plain").json()["path"] == "/api/plain"


def test_index_file_answers_at_its_folder_path(site):
    assert answered_by(site.get("/api/x")) == "x/index"
    assert answered_by(site.get("/api/tokens")) == "tokens/index"


def test_dynamic_segment_is_passed_as_query_parameter(site):
    r = site.get("/api/tokens/65a1f0c2")
    assert answered_by(r) == "tokens/[id]"
    assert r.json()["query"] == "id=65a1f0c2"


def test_dynamic_segment_keeps_the_callers_query_string(site):
    r = site.get("/api/tokens/abc?expand=1")
    assert r.json()["query"] == "id=abc&expand=1"


def test_path_segment_wins_over_a_query_parameter_of_the_same_name(site):
    r = site.get("/api/tokens/abc?id=other")
    assert r.json()["query"].startswith("id=abc&")


def test_several_dynamic_segments_in_one_path(site):
    r = site.get("/api/items/7/photos/9")
    assert answered_by(r) == "items/[item]/photos/[photo]"
    assert r.json()["query"] == "item=7&photo=9"


def test_dynamic_segment_matches_one_segment_only(site):
    r = site.get("/api/tokens/a/b")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_static_file_route_wins_over_dynamic_segment(site):
    assert answered_by(site.get("/api/tokens/new")) == "tokens/new"


@pytest.mark.parametrize("path", ["/api/_private", "/api/_lib/helper", "/api/__pycache__/stale"])
def test_underscore_files_and_folders_are_not_routes(site, path):
    r = site.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"


def test_route_table_lists_only_public_functions(project):
    paths = [r.path for r in api_routes(project)]
    assert sorted(paths) == sorted(["/api/x", "/api/tokens", "/api/tokens/[id]", "/api/tokens/new", "/api/items/[item]/photos/[photo]", "/api/plain"])
    assert paths.index("/api/tokens/new") < paths.index("/api/tokens/[id]")


def test_unknown_api_path_is_a_json_404(site):
    r = site.get("/api/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == "not_found"
    assert "/api/nope" in r.json()["error"]["message"]


def test_a_function_module_is_loaded_once_per_router(project):
    router = Router(root=project)
    client = Client(router, origin=None)
    client.get("/api/plain")
    first = router.apps[project / "api" / "plain.py"]
    client.get("/api/plain")
    assert router.apps[project / "api" / "plain.py"] is first


# -- static pages ------------------------------------------------------------

def test_root_serves_index_html(site):
    r = site.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text == "<h1>home</h1>"


def test_clean_url_serves_the_html_file(site):
    r = site.get("/about")
    assert r.status_code == 200 and r.text == "<h1>about</h1>"


def test_clean_url_serves_a_folders_index(site):
    assert site.get("/guide").text == "<h1>guide</h1>"


@pytest.mark.parametrize(("path", "location"), [
    ("/about.html", "/about"),
    ("/about.html?ref=mail", "/about?ref=mail"),
    ("/index.html", "/"),
])
def test_html_extension_redirects_permanently_to_the_clean_url(site, path, location):
    r = site.get(path)
    assert r.status_code == 308
    assert r.headers["location"] == location
    assert r.body == b""


def raw_get(project, path_info: str):
    """GET with PATH_INFO exactly as a server decodes it (`/%2Fevil.example.html` -> `//evil.example.html`),
    which the test client's URL parsing would read as a host."""
    captured = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path_info, "QUERY_STRING": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
               "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http", "HTTP_HOST": "testserver"}
    body = b"".join(Router(root=project)(environ, lambda status, headers, exc_info=None: captured.update(status=status, headers=dict(headers))))
    return int(captured["status"].split()[0]), captured["headers"], body


@pytest.mark.parametrize("path_info", ["//evil.example.html", "///evil.example.html", "/\\evil.example.html", "//evil.example/index.html"])
def test_an_html_path_naming_another_host_is_404_never_a_redirect(project, path_info):
    status, headers, body = raw_get(project, path_info)
    assert status == 404 and "Location" not in headers
    assert body == b"<h1>lost</h1>"


def test_leading_slashes_collapse_to_one_in_the_redirect(project):
    status, headers, _ = raw_get(project, "//about.html")
    assert (status, headers["Location"]) == (308, "/about")


@pytest.mark.parametrize("path", ["/nope.html", "/guide/nope.html", "/nope/index.html"])
def test_html_suffix_of_a_page_that_does_not_exist_is_404(site, path):
    r = site.get(path)
    assert r.status_code == 404 and "location" not in r.headers


@pytest.mark.parametrize(("path", "ctype"), [
    ("/css/site.css", "text/css; charset=utf-8"),
    ("/app.js", "text/javascript; charset=utf-8"),
])
def test_assets_have_their_content_type(site, path, ctype):
    r = site.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == ctype


def test_unknown_page_is_404_with_the_sites_404_page(site):
    r = site.get("/no-such-page")
    assert r.status_code == 404 and r.text == "<h1>lost</h1>"


def test_head_on_a_page_sends_its_length_but_no_body(site):
    r = site.request("HEAD", "/about")
    assert r.status_code == 200
    assert r.body == b""
    assert r.headers["content-length"] == str(len("<h1>about</h1>"))


# -- rewrites ----------------------------------------------------------------

def test_rewrite_to_a_page(site):
    r = site.get("/dashboard/tokens")
    assert r.status_code == 200 and r.text == "<h1>dashboard</h1>"


def test_rewrite_with_a_rest_parameter(site):
    assert site.get("/docs/a/b/c").text == "<h1>manual</h1>"


def test_rewrite_to_a_function_passes_parameters_on(site):
    r = site.get("/u/alice")
    assert answered_by(r) == "tokens/[id]"
    assert r.json()["query"] == "id=alice"


def test_an_existing_file_is_served_before_rewrites(site):
    assert site.get("/dashboard/help").text == "<h1>dashboard help</h1>"


def test_rewritten_page_is_not_redirected_as_html(site):
    assert site.get("/docs/x").status_code == 200


# -- headers from vercel.json -------------------------------------------------

def test_headers_apply_to_static_responses(site):
    r = site.get("/about")
    assert r.headers["x-everywhere"] == "yes"
    assert "x-api-only" not in r.headers


def test_headers_apply_to_function_responses(site):
    r = site.get("/api/plain")
    assert r.headers["x-everywhere"] == "yes"
    assert r.headers["x-api-only"] == "1"


def test_a_header_the_function_sets_is_not_duplicated(site):
    r = site.get("/api/plain")
    assert [v for k, v in r.header_list if k.lower() == "x-set-by"] == ["function"]


@pytest.mark.parametrize("path", ["/no-such-page", "/api/nope", "/about.html"])
def test_headers_apply_to_404s_and_redirects(site, path):
    assert site.get(path).headers["x-everywhere"] == "yes"


# -- path traversal -------------------------------------------------------------

# PATH_INFO arrives percent-decoded from the server, so encoded forms decode to these.
TRAVERSALS = [
    "/../secret.txt",
    "/css/../../secret.txt",
    unquote("/%2e%2e/secret.txt"),
    unquote("/css/%2E%2E%2F%2E%2E%2Fsecret.txt"),
    "/../vercel.json",
    "/../api/plain.py",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused(site, path):
    r = site.get(path)
    assert r.status_code == 404
    assert b"do not serve" not in r.body and b"cleanUrls" not in r.body and b"NAME" not in r.body


def test_a_symlink_out_of_public_is_not_followed(project, site):
    (project / "public" / "leak.txt").symlink_to(project / "secret.txt")
    r = site.get("/leak.txt")
    assert r.status_code == 404 and b"do not serve" not in r.body


def test_source_files_outside_public_are_never_static(site):
    for path in ("/vercel.json", "/api/plain.py", "/secret.txt"):
        r = site.get(path)
        assert r.status_code == 404, path
