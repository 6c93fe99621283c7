"""`make dev`: the embedded database, then the dev server, restarted when api/ or lib/ change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from local import embedded_db

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("api", "lib", "local")


def _snapshot() -> dict[Path, float]:
    return {p: p.stat().st_mtime for d in WATCHED for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts}


def _cron_line(env: dict) -> str:
    from local import cron

    if env.get("LOCAL_CRON", "").strip().lower() == "off":
        return "off (LOCAL_CRON=off)"
    found = cron.jobs()
    listed = ", ".join(f"{job.path} ({job.schedule})" for job in found)
    return f"{len(found)} scheduled function(s) from vercel.json run on their schedule" + (f": {listed}" if listed else "")


def _banner(env: dict, port: int, embedded_path: str | None) -> str:
    from lib import config

    settings = config.load(env)
    db_line = (f"embedded SecantusDB at {env['MONGODB_URI']}, data in {embedded_path} (set MONGODB_URI to use MongoDB Atlas)"
               if embedded_path else "MONGODB_URI")
    vision = {"sentisight": "SentiSight.ai", "local": "local models on this CPU (set SENTISIGHT_API_TOKEN for SentiSight.ai)"}[settings.vision_backend]
    payments = "Stripe" if settings.stripe_enabled else "local Checkout stand-in (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET for Stripe)"
    mail = "Amazon SES" if settings.mail_backend == "ses" else "outbox collection, printed here (set MAIL_BACKEND=ses for Amazon SES)"
    return "\n".join([
        "",
        "  NexusPoint is running",
        f"  -> http://127.0.0.1:{port}",
        "",
        f"  database  {db_line}",
        f"  vision    {vision}",
        f"  payments  {payments}",
        f"  mail      {mail}",
        f"  cron      {_cron_line(env)}",
        "",
        "  Edits under api/, lib/ and local/ reload the server. Ctrl-C stops it.",
        "",
    ])


def main() -> int:
    # `kill` (SIGTERM) stops like Ctrl-C: the server child and the database go down with us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = dict(os.environ)
    port = int(env.get("PORT") or 3000)
    embedded_path = None
    server = None
    if not env.get("MONGODB_URI"):
        embedded_path = str(Path(env.get("DATA_DIR", "").strip() or ROOT / ".data") / "db")
        server, env["MONGODB_URI"] = embedded_db.start(embedded_path, port=int(env.get("EMBEDDED_DB_PORT") or 0) or None)
    env["SITE_URL"] = env.get("SITE_URL") or f"http://127.0.0.1:{port}"
    print(_banner(env, port, embedded_path), flush=True)
    subprocess.run([sys.executable, "-m", "lib.db", "ensure-indexes"], env=env, cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "lib.db", "migrate"], env=env, cwd=ROOT, check=True)
    child, seen = None, _snapshot()
    try:
        while True:
            if child is None or child.poll() is not None:
                if child is not None:
                    time.sleep(1)  # it crashed: wait for an edit rather than spinning
                child = subprocess.Popen([sys.executable, "-m", "local.serve"], env=env, cwd=ROOT)
            time.sleep(0.5)
            now = _snapshot()
            if now != seen:
                seen = now
                print("  code changed: reloading", flush=True)
                child.terminate()
                child.wait()
                child = None
    except KeyboardInterrupt:
        return 0
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
