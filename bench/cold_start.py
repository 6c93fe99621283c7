"""The first answer of a cold function: import plus first request, next to a bare `import pymongo`.

What a user waits for after idle is a new interpreter importing the function
and answering one request. Each `api/**.py` route runs that way in a fresh
process against the running embedded database (in this bench's process, so
over TCP like Atlas) and the fake SentiSight, with a request that reaches the
database (requests that would change the seeded account run as a new user).
Bytecode is valid, as a deployment ships it: this machine sets
PYTHONDONTWRITEBYTECODE=1, so the children write and read .pyc files in a
PYTHONPYCACHEPREFIX of their own, filled by one warm-up run each.

The children see what a deployment has and nothing more: the packages of
`requirements.txt`, installed once with `pip install --target` into
bench/output/bundle-<hash of requirements.txt>/, and the project's own code,
run with `-S` so the dev environment's site-packages (moto's `cryptography`,
which PyJWT would load) stay out of reach. The floor runs the same way; the
`site` module both skip is a few equal milliseconds on Vercel.

The floor is a process that only imports pymongo: every function needs the
interpreter and the driver. Floor and function runs alternate, so both see
the same load on a shared machine; the ratio is process time over the floor's
median. The same ratio in CPU time (user + system, from the child's rusage)
stays comparable when the machine is busy, which wall time does not. One `-X importtime` run names the heaviest top-level packages. A
function importing a package it should not is flagged: the vision functions
must not load billing, mail, `requests` or `urllib3`; no function should load
`cryptography` (PyJWT's optional backend, which the deployed bundle does not
have) or dnspython (a mongodb+srv:// URI).

    python -m bench.cold_start [--runs N] [api/health.py ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench import _setup
from bench._setup import Figure, at_most
from tests.fixtures.accounts import make_admin

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = 5
TARGET_RATIO = 1.3
MARKER = "--bench-import-starts--"
UNWANTED_IN_VISION = ("stripe", "boto3", "requests", "urllib3")
UNWANTED_EVERYWHERE = ("cryptography", "dns")

# The child: import one function file, answer one request, report; os._exit skips teardown for both probes.
PROBE = f"""
import os, sys, time
sys.stderr.write({MARKER!r} + "\\n")
t0 = time.perf_counter()
import importlib.util as _u
spec = _u.spec_from_file_location("bench_target", sys.argv[1])
module = _u.module_from_spec(spec)
spec.loader.exec_module(module)
t1 = time.perf_counter()
import io, json
with open(sys.argv[2]) as f:
    req = json.load(f)
body = bytes.fromhex(req["body"])
environ = {{"REQUEST_METHOD": req["method"], "PATH_INFO": req["path"], "QUERY_STRING": req["query"],
           "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
           "REMOTE_ADDR": req["ip"], "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
           "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(body))}}
for k, v in req["headers"].items():
    environ[k if k == "CONTENT_TYPE" else "HTTP_" + k.upper().replace("-", "_")] = v
status = []
b"".join(module.app(environ, lambda s, h, e=None: status.append(s)))
t2 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "request_ms": (t2 - t1) * 1000, "status": int(status[0].split()[0]),
                  "modules": sorted(sys.modules)}}), flush=True)
os._exit(0)
"""
FLOOR = "import os, pymongo; os._exit(0)"


def function_files(root: Path = ROOT) -> list[Path]:
    """The deployed functions: every api/**.py route (files and folders starting with `_` are not)."""
    files = []
    for file in sorted((root / "api").rglob("*.py")):
        rel = file.relative_to(root / "api")
        if "__pycache__" in rel.parts or any(part.startswith("_") for part in rel.parts):
            continue
        files.append(file)
    return files


# --- the first request of each function ------------------------------------------

class Seed:
    """An administrator with credits, a session cookie and an API token, in the bench's database."""

    def __init__(self):
        self.client, self.user = _setup.signed_in(credits_to_add=100_000)
        make_admin(self.user["email"])
        with _setup.quiet():
            token = self.client.post("/api/tokens", json={"name": "cold start"}).json()["token"]
        self.token, self.token_id = token["secret"], token["id"]
        self.image = _setup.png()
        self.runs = 0

    def cookie(self, client=None) -> str:
        return "; ".join(f"{k}={v}" for k, v in (client or self.client).cookies.items())

    def throwaway_cookie(self) -> str:
        """A new account's cookie, for requests that end or change the session they use."""
        self.runs += 1
        c, _ = _setup.signed_in(ip=f"198.18.{self.runs // 250}.{self.runs % 250 + 1}")  # sign-ups are limited per address
        return self.cookie(c)


def _request(method: str, path: str, *, cookie: str = "", token: str = "", json_body=None, body: bytes = b"",
             ctype: str = "", query: str = "") -> dict:
    headers = {"host": "testserver", "origin": "http://testserver"}
    if json_body is not None:
        body, ctype = json.dumps(json_body).encode(), "application/json"
    if ctype:
        headers["CONTENT_TYPE"] = ctype
    if cookie:
        headers["cookie"] = cookie
    if token:
        headers["authorization"] = f"Bearer {token}"
    return {"method": method, "path": path, "query": query, "headers": headers, "body": body.hex()}


def first_request(route: str, seed: Seed, n: int) -> dict:
    """The request a cold function answers in this bench (n: the run's number, for unique values)."""
    c = seed.cookie()
    posts = {
        "/api/auth/login": lambda: _request("POST", route, json_body={"email": seed.user["email"], "password": _setup.PASSWORD}),
        "/api/auth/register": lambda: _request("POST", route, json_body={
            "first_name": "Cold", "last_name": "Start", "email": f"cold{n}-{time.time_ns()}@example.com", "password": _setup.PASSWORD,
            "age_confirmed": True}),
        "/api/auth/forgot": lambda: _request("POST", route, json_body={"email": f"nobody{n}-{time.time_ns()}@example.com"}),
        "/api/auth/reset": lambda: _request("POST", route, json_body={"token": "x" * 43, "new_password": "another fine passphrase"}),
        "/api/auth/logout": lambda: _request("POST", route, cookie=seed.throwaway_cookie()),
        "/api/auth/password": lambda: _request("POST", route, cookie=seed.throwaway_cookie(), json_body={
            "current_password": _setup.PASSWORD, "new_password": "another fine passphrase"}),
        "/api/account": lambda: _request("DELETE", route, cookie=seed.throwaway_cookie(), json_body={"password": _setup.PASSWORD}),
        "/api/contact": lambda: _request("POST", route, json_body={"name": "Cold Start", "email": "cold@example.com", "message": "Hello"}),
        "/api/billing/checkout": lambda: _request("POST", route, cookie=c, json_body={"pack_id": "starter"}),
        "/api/billing/webhook": lambda: _request("POST", route, json_body={"type": "ping"}),
        "/api/admin/credits": lambda: _request("POST", route, cookie=c, json_body={"user_id": seed.user["id"], "amount": 1, "reason": "bench"}),
        "/api/admin/users/[id]": lambda: _request("GET", route, cookie=c, query=f"id={seed.user['id']}"),
        "/api/tokens/[id]": lambda: _request("PATCH", route, cookie=c, query=f"id={seed.token_id}", json_body={"name": f"bench {n}"}),
    }
    if route.startswith("/api/vision/") and route != "/api/vision/models":
        request = _request("POST", route, token=seed.token, body=seed.image, ctype="image/png")
    else:
        request = posts[route]() if route in posts else _request("GET", route, cookie=c)
    return {**request, "ip": f"198.51.100.{n % 250 + 1}"}  # per-IP rate limits must not answer instead of the function


def _route(file: Path) -> str:
    rel = file.relative_to(ROOT).with_suffix("")
    return "/" + str(rel.parent if rel.name == "index" else rel)


# --- processes ---------------------------------------------------------------------

def deployed_packages(requirements: Path = ROOT / "requirements.txt") -> Path:
    """A folder holding exactly what Vercel installs from requirements.txt, built on first use."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    target = ROOT / "bench" / "output" / f"bundle-{digest}"
    if not (target / ".complete").exists():
        print(f"Installing requirements.txt into {target.relative_to(ROOT)} (once per version of the file)", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade",
                        "--target", str(target), "-r", str(requirements)], check=True)
        (target / ".complete").touch()
    return target


def child_environment(database: str, packages: Path) -> dict:
    """The bench's settings (database, fake SentiSight), the deployed packages only, bytecode in a prefix of our own."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "VERCEL_ENV")}
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="nexuspoint-pycache-")
    env["PYTHONPATH"] = str(packages)  # with -S: the bundle, the project (cwd) and the standard library, nothing else
    env["MONGODB_DB"] = database
    return env


def _cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: list[str], env: dict) -> tuple[subprocess.CompletedProcess, dict]:
    """Run one child; its wall time and its CPU time (children run one at a time, so the delta is this one's)."""
    started, cpu_before = time.perf_counter(), _cpu_seconds_of_children()
    done = subprocess.run([sys.executable, "-S", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    times = {"process_ms": (time.perf_counter() - started) * 1000, "cpu_ms": (_cpu_seconds_of_children() - cpu_before) * 1000}
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return done, times


def floor_ms(env: dict) -> dict:
    """Wall and CPU ms of a process that only imports pymongo."""
    return _run(["-c", FLOOR], env)[1]


def _probe(file: Path, request: dict, env: dict, importtime: bool = False) -> tuple[dict, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(request, f)
    try:
        done, times = _run([*(["-X", "importtime"] if importtime else []), "-c", PROBE, str(file), f.name], env)
    finally:
        os.unlink(f.name)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, **times}, done.stderr


def heaviest_packages(importtime_log: str, top: int = 3) -> list[tuple[str, float]]:
    """Self import time (ms) summed per top-level package, for imports after the marker."""
    totals: dict[str, float] = defaultdict(float)
    lines = importtime_log.splitlines()
    if MARKER in lines:
        lines = lines[lines.index(MARKER) + 1:]
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _cumulative, name = line[len("import time:"):].split("|", 2)
        if not self_us.strip().isdigit():
            continue  # the column header
        totals[name.strip().split(".")[0]] += int(self_us) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def floor_of(floors: list[dict], key: str) -> float:
    return _setup.median([f[key] for f in floors])


def measure(file: Path, seed: Seed, runs: int, env: dict, floors: list[dict]) -> dict:
    """Median import, first request and process time of one function; appends interleaved floor runs to floors."""
    route = _route(file)
    _probe(file, first_request(route, seed, 0), env)  # warm-up: writes the bytecode a deployment ships with
    samples = []
    for n in range(1, runs + 1):
        floors.append(floor_ms(env))
        samples.append(_probe(file, first_request(route, seed, n), env)[0])
    _, log = _probe(file, first_request(route, seed, runs + 1), env, importtime=True)
    loaded = {m.split(".")[0] for m in samples[-1]["modules"]}
    unwanted = UNWANTED_EVERYWHERE + (UNWANTED_IN_VISION if file.parent.name == "vision" else ())
    return {
        **{key: _setup.median([s[key] for s in samples]) for key in ("import_ms", "request_ms", "process_ms", "cpu_ms")},
        "statuses": sorted({s["status"] for s in samples}),
        "unwanted": [pkg for pkg in unwanted if pkg in loaded],
        "heaviest": heaviest_packages(log),
    }


def run(runs: int = DEFAULT_RUNS, files: list[Path] | None = None) -> list[Figure]:
    database = _setup.fresh_database("cold_start")
    seed = Seed()
    env = child_environment(database, deployed_packages())
    for _ in range(2):
        floor_ms(env)  # compiles pymongo into the prefix, then warms the file cache
    files = files or function_files()
    width = max(len(str(f.relative_to(ROOT))) for f in files)
    print(f"Import + first request of each function in a fresh interpreter, valid bytecode (Python {sys.version.split()[0]}, "
          f"median of {runs}; machine shared with other work)")
    # Wall time is what a user waits for; CPU time is what stays comparable when the machine is busy.
    print(f"{'function':<{width}}  {'import':>7}  {'request':>7}  {'process':>7}  {'ratio':>5}  {'cpu':>6}  {'ratio':>5}  "
          "status  heaviest (self ms)")
    results, floors, flagged = {}, [floor_ms(env)], []
    for file in files:
        name = str(file.relative_to(ROOT))
        try:
            m = measure(file, seed, runs, env, floors)
        except Exception as exc:
            print(f"{name:<{width}}  error: {exc}", flush=True)
            flagged.append(f"{name} failed")
            continue
        results[name] = m
        ratio, cpu_ratio = (m[key] / floor_of(floors, key) for key in ("process_ms", "cpu_ms"))
        heavy = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in m["heaviest"])
        status = "/".join(map(str, m["statuses"]))
        print(f"{name:<{width}}  {m['import_ms']:7.1f}  {m['request_ms']:7.1f}  {m['process_ms']:7.1f}  {ratio:5.2f}  "
              f"{m['cpu_ms']:6.1f}  {cpu_ratio:5.2f}  {status:<6}  {heavy}", flush=True)
        flagged += [f"{name} imports {pkg}" for pkg in m["unwanted"]]
        flagged += [f"{name} answered {s}" for s in m["statuses"] if s >= 500]
    floor, cpu_floor = floor_of(floors, "process_ms"), floor_of(floors, "cpu_ms")
    print(f"{'bare import pymongo (floor)':<{width}}  {'':>7}  {'':>7}  {floor:7.1f}  {1:5.2f}  {cpu_floor:6.1f}  {1:5.2f}")
    for line in flagged:
        print(f"  FLAGGED: {line}")
    if not results:
        return [Figure("cold start: functions measured", "none", "all", False)]
    ratios = {name: m["process_ms"] / floor for name, m in results.items()}
    cpu_ratios = {name: m["cpu_ms"] / cpu_floor for name, m in results.items()}
    slowest, slowest_cpu = max(ratios, key=ratios.get), max(cpu_ratios, key=cpu_ratios.get)
    over = sorted(name for name, r in ratios.items() if r > TARGET_RATIO)
    median_of = lambda key: _setup.median([m[key] for m in results.values()])  # noqa: E731
    return [
        Figure("cold start: bare import pymongo (floor), wall / CPU", f"{floor:.0f} / {cpu_floor:.0f} ms"),
        Figure("cold start: import / first request (median function)", f"{median_of('import_ms'):.0f} / {median_of('request_ms'):.0f} ms"),
        at_most(f"cold start: slowest ({slowest}) / floor", ratios[slowest], TARGET_RATIO, "x", "{:.2f}"),
        at_most(f"cold start: slowest in CPU ({slowest_cpu}) / floor", cpu_ratios[slowest_cpu], TARGET_RATIO, "x", "{:.2f}"),
        Figure("cold start: functions over 1.3x the floor", f"{len(over)} of {len(results)}", "0", not over),
        Figure("cold start: unwanted imports, failed requests", f"{len(flagged)} (listed above)" if flagged else "none", "none", not flagged),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="cold starts per function (the median is shown)")
    parser.add_argument("files", nargs="*", help="function files (default: every api/**.py route)")
    args = parser.parse_args(argv)
    files = [Path(f).resolve() for f in args.files] or None
    _setup.run_alone(lambda: run(args.runs, files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
