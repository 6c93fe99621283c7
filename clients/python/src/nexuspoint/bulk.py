"""`nexuspoint predict`'s engine: inputs, resuming from the JSONL file, parallel calls, and the records.

One line per input, written by the main thread alone and flushed at once, so a
stopped run leaves a valid file and a second run skips what is already ok.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

from nexuspoint import draw
from nexuspoint.client import Client
from nexuspoint.errors import APIError, AuthenticationError, InsufficientCredits, PermissionDenied
from nexuspoint.images import IMAGE_SUFFIXES, is_url
from nexuspoint.results import BackgroundRemoval

# Errors after which every further call would fail the same way: stop instead of failing them all.
STOPPING_ERRORS = (AuthenticationError, PermissionDenied, InsufficientCredits)


class UsageError(Exception):
    """A mistake in the command line (exit code 2)."""


def collect_inputs(args: Iterable[str]) -> list[str]:
    """Files as given, folders walked recursively (image files only, sorted), URLs as they are; no duplicates."""
    found: list[str] = []
    for arg in args:
        if is_url(arg):
            found.append(arg)
            continue
        path = Path(arg).expanduser()
        if path.is_dir():
            found.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            found.append(os.path.normpath(arg))
        else:
            raise UsageError(f"{arg}: no such file or folder (and not an http(s):// URL)")
    return list(dict.fromkeys(found))


def done_inputs(out: Path | None) -> set[str]:
    """Inputs recorded as ok in an earlier run's JSONL file (broken lines, e.g. from a killed run, are ignored)."""
    if out is None or not out.exists():
        return set()
    done = set()
    with out.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("ok") is True and isinstance(record.get("input"), str):
                done.add(record["input"])
    return done


def open_for_append(out: Path) -> IO[str]:
    """The JSONL file opened to add lines, starting on a fresh line if a killed run left half of one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    needs_newline = out.exists() and out.stat().st_size > 0 and out.read_bytes()[-1:] != b"\n"
    handle = out.open("a", encoding="utf-8")
    if needs_newline:
        handle.write("\n")
    return handle


def idempotency_key(model: str, name: str, data: bytes, options: dict) -> str:
    """The same key for the same image, model and options, so a re-run after a crash between the charge
    and the JSONL line is answered from the server's idempotency record instead of charged again."""
    digest = hashlib.sha256()
    for part in (model.encode(), json.dumps(options, sort_keys=True).encode(), os.path.abspath(name).encode() if not is_url(name) else name.encode()):
        digest.update(part + b"\0")
    digest.update(hashlib.sha256(data).digest())
    return "np-cli-" + digest.hexdigest()[:40]


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    credits: int = 0
    remaining: int | None = None
    stopped_by: APIError | None = None
    errors: dict[str, int] = field(default_factory=dict)


class Runner:
    """Runs one model over many inputs with `concurrency` threads; `record` receives each JSONL record."""

    def __init__(self, client: Client, model: str, options: dict, *, concurrency: int = 4, save_dir: Path | None = None,
                 on_record: Callable[[dict], None]):
        self.client, self.model, self.options = client, model, options
        self.concurrency = max(1, concurrency)
        self.save_dir = save_dir
        self.on_record = on_record
        self.tally = Tally()
        self.stop = threading.Event()
        self.warned_no_pillow = False
        self.base = ""

    def run(self, inputs: list[str]) -> Tally:
        """Process every input (until stopped); Ctrl-C waits for the calls in flight, records them, and re-raises."""
        files = [os.path.abspath(name) for name in inputs if not is_url(name)]
        if files:  # --save names are paths below the folder all inputs share: "sub/c.jpg" -> "sub_c.png"
            self.base = os.path.dirname(files[0]) if len(files) == 1 else os.path.commonpath(files)
        queue = iter(inputs)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="nexuspoint") as pool:
            running: set[Future] = set()
            try:
                while True:
                    while len(running) < self.concurrency and not self.stop.is_set():
                        name = next(queue, None)
                        if name is None:
                            break
                        running.add(pool.submit(self.process, name))
                    if not running:
                        break
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        self._record(future.result())
            except KeyboardInterrupt:
                self.stop.set()
                for future in running:  # already paid for: keep their results
                    self._record(future.result())
                raise
        return self.tally

    def process(self, name: str) -> dict:
        """One input's JSONL record (worker thread)."""
        record: dict = {"input": name, "model": self.model}
        try:
            data = b"" if is_url(name) else Path(name).read_bytes()
            prediction = self.client.predict(self.model, name if is_url(name) else data,
                                             idempotency_key=idempotency_key(self.model, name, data, self.options), **self.options)
        except OSError as exc:
            return {**record, "ok": False, "credits_charged": 0, "error": {"code": "unreadable_file", "message": exc.strerror or str(exc)}}
        except APIError as exc:
            if isinstance(exc, STOPPING_ERRORS):
                self.stop.set()
                self.tally.stopped_by = exc
            return {**record, "ok": False, "credits_charged": exc.credits_charged,
                    "error": {"code": exc.code, "message": exc.message, "status": exc.status, "request_id": exc.request_id}}
        except Exception as exc:  # a bug here must cost one line of the file, not the whole run
            return {**record, "ok": False, "credits_charged": 0, "error": {"code": "client_error", "message": repr(exc)}}
        results = dict(prediction.results)
        if isinstance(prediction, BackgroundRemoval):
            results.pop("image", None)  # the PNG goes to --save, not into the JSONL as base64
        record.update(ok=True, credits_charged=prediction.credits_charged, credits_remaining=prediction.credits_remaining,
                      usage_id=prediction.usage_id, request_id=prediction.request_id, results=results)
        if prediction.sandbox:
            record["sandbox"] = True
        if prediction.replayed:  # answered from the server's idempotency record: the first run already paid
            record["replayed"] = True
        saved = self._save(name, data, prediction)
        if saved:
            record["saved"] = str(saved)
        return record

    def _save(self, name: str, data: bytes, prediction) -> Path | None:
        if self.save_dir is None:
            return None
        target = self.save_dir / draw.save_name(name if is_url(name) else os.path.relpath(os.path.abspath(name), self.base or None))
        if isinstance(prediction, BackgroundRemoval):
            return prediction.save(target)
        if not data or not draw.can_draw(prediction):
            return None  # URLs aren't downloaded here; classification has nothing to draw
        picture = draw.overlay(data, prediction)
        if picture is None:
            self.warned_no_pillow = True
            return None
        target.write_bytes(picture)
        return target

    def _record(self, record: dict) -> None:
        if record["ok"]:
            self.tally.ok += 1
            left = record.get("credits_remaining")
            if left is not None:  # answers arrive out of order: the lowest is the latest balance
                self.tally.remaining = left if self.tally.remaining is None else min(left, self.tally.remaining)
        else:
            self.tally.failed += 1
            code = record["error"]["code"]
            self.tally.errors[code] = self.tally.errors.get(code, 0) + 1
        self.tally.credits += int(record.get("credits_charged") or 0)
        self.on_record(record)
