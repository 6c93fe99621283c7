"""The `nexuspoint` command: models, balance, usage, and predict over files, folders and URLs.

Exit codes: 0 everything succeeded, 1 some inputs (or the call) failed, 2 a usage
error (bad arguments, or a balance that can't cover the run without --yes),
130 stopped with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from nexuspoint.bulk import Runner, UsageError, collect_inputs, done_inputs, open_for_append
from nexuspoint.client import DEFAULT_BASE_URL, Client, __version__
from nexuspoint.errors import APIError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def flag(option: str) -> str:
    """The command-line spelling of an API option: max_results -> --max-results."""
    return "--" + option.replace("_", "-")


def say(text: str = "") -> None:
    print(text, file=sys.stderr, flush=True)


# --- the commands ----------------------------------------------------------------

def cmd_models(client: Client, args) -> int:
    models = client.models()
    if args.json:
        print(json.dumps([vars(m) for m in models], indent=2))
        return EXIT_OK
    width = max((len(m.slug) for m in models), default=10)
    print(f"{'MODEL':<{width}}  COST  OUTPUT     AVAILABLE")
    for m in models:
        status = "yes" if m.available else f"no: {m.reason or 'unavailable'}"
        print(f"{m.slug:<{width}}  {m.cost:>4}  {m.output:<9}  {status}")
    return EXIT_OK


def cmd_balance(client: Client, args) -> int:
    balance = client.balance()
    if args.json:
        print(json.dumps({"credits": balance.credits, "sandbox": balance.sandbox}))
    else:
        print(f"{plural(balance.credits, 'credit')}" + (" (test token: calls are free)" if balance.sandbox else ""))
    return EXIT_OK


def cmd_usage(client: Client, args) -> int:
    usage = client.usage(days=args.days)
    if args.json:
        print(json.dumps(usage.raw, indent=2))
        return EXIT_OK
    totals = usage.totals
    print(f"Last {plural(usage.days, 'day')} ({usage.start} to {usage.end}): {plural(int(totals.get('calls', 0)), 'call')}, "
          f"{plural(int(totals.get('credits', 0)), 'credit')}, {int(totals.get('failed', 0))} failed (refunded)")
    for row in usage.by_model:
        print(f"  {row.get('model', '?'):<24} {row.get('calls', 0):>6} calls {row.get('credits', 0):>7} credits")
    for source, row in usage.by_source.items():
        print(f"  via {source:<20} {row.get('calls', 0):>6} calls {row.get('credits', 0):>7} credits")
    return EXIT_OK


def cmd_predict(client: Client, args) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 1:
        raise UsageError("--min-confidence must be between 0 and 1")
    if args.max_results is not None and args.max_results < 1:
        raise UsageError("--max-results must be at least 1")
    inputs = collect_inputs(args.inputs)
    if not inputs:
        raise UsageError("no images found in the inputs given (looked for " + ", ".join(("jpg", "jpeg", "png", "webp", "gif", "bmp")) + ")")
    out = Path(args.out) if args.out else None
    done = done_inputs(out)
    todo = [name for name in inputs if name not in done]
    model = next((m for m in client.models() if m.slug == args.model), None)
    if model is None:
        raise UsageError(f"unknown model '{args.model}'; `nexuspoint models` lists them")
    options = {k: v for k, v in (("lang", args.lang), ("min_confidence", args.min_confidence), ("max_results", args.max_results)) if v is not None}
    refused = [name for name in options if model.options is not None and name not in model.options]
    if refused:  # the server would answer 400 for every image: say so once, before anything is sent
        takes = ", ".join(map(flag, model.options or ())) or "no options"
        raise UsageError(f"{model.slug} has no {', '.join(map(flag, refused))} (it takes {takes})")
    if not model.available:
        say(f"error: {model.slug} can't run on {client.base_url} right now: {model.reason or 'unavailable'}.")
        return EXIT_FAILED
    skipped = f" ({len(done & set(inputs))} already done in {out}, skipped)" if done & set(inputs) else ""
    if not todo:
        say(f"Nothing to do: all {plural(len(inputs), 'input')} are already recorded as ok in {out}.")
        return EXIT_OK
    cost = model.cost * len(todo)
    balance = client.balance()
    say(f"{plural(len(todo), 'image')}{skipped} x {model.slug} at {plural(model.cost, 'credit')} each: {plural(cost, 'credit')}.")
    if balance.sandbox:
        say(f"Test token: this run is free (sandbox answers). Balance: {plural(balance.credits, 'credit')}.")
    else:
        say(f"Balance: {plural(balance.credits, 'credit')}.")
        if balance.credits < cost and not args.yes:
            say(f"error: the balance doesn't cover {plural(cost, 'credit')}. Buy credits in the dashboard, process fewer images, "
                "or pass --yes to run until the credits run out.")
            return EXIT_USAGE
    save_dir = Path(args.save) if args.save else None
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
    return _run(client, args, model.slug, todo, options, out, save_dir)


def _run(client: Client, args, model: str, todo: list[str], options: dict, out: Path | None, save_dir: Path | None) -> int:
    sink = open_for_append(out) if out else sys.stdout
    bar = tqdm(total=len(todo), unit="img", file=sys.stderr, dynamic_ncols=True, disable=args.quiet or None)

    def on_record(record: dict) -> None:
        sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        sink.flush()
        bar.update(1)
        bar.set_postfix(credits=runner.tally.credits, failed=runner.tally.failed, refresh=False)

    runner = Runner(client, model, options, concurrency=args.concurrency, save_dir=save_dir, on_record=on_record)
    started = time.monotonic()
    interrupted = False
    try:
        runner.run(todo)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        if out:
            sink.close()
    seconds = max(time.monotonic() - started, 1e-9)
    tally = runner.tally
    not_run = len(todo) - tally.ok - tally.failed
    say(f"Done: {tally.ok} ok, {tally.failed} failed, {not_run} not run, in {seconds:.1f} s ({(tally.ok + tally.failed) / seconds:.2f} images/s).")
    left = f", {plural(tally.remaining, 'credit')} left" if tally.remaining is not None else ""
    say(f"Credits: {tally.credits} charged{left}.")
    if tally.errors:
        say("Failures: " + ", ".join(f"{code} x{n}" for code, n in sorted(tally.errors.items())))
    if tally.stopped_by is not None:
        say(f"Stopped early: {tally.stopped_by.message}")
    if runner.warned_no_pillow:
        say("Drawings were not saved: install Pillow (pip install 'nexuspoint[draw]').")
    if out:
        say(f"Results: {out}" + (" (run the same command again to continue)" if not_run or tally.failed else ""))
    if interrupted:
        say("Stopped by Ctrl-C.")
        return EXIT_INTERRUPTED
    return EXIT_OK if tally.failed == 0 and not_run == 0 else EXIT_FAILED


# --- the parser ------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-key", help="API token (default: $NEXUSPOINT_API_KEY)")
    common.add_argument("--base-url", help=f"server (default: $NEXUSPOINT_BASE_URL, else {DEFAULT_BASE_URL})")
    common.add_argument("--timeout", type=float, default=60.0, help="seconds per attempt (default: 60)")
    common.add_argument("--max-retries", type=int, default=3, help="retries on 429, 502-504 and connection errors (default: 3)")
    parser = argparse.ArgumentParser(prog="nexuspoint", description="The NexusPoint computer-vision API from the command line.")
    parser.add_argument("--version", action="version", version=f"nexuspoint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    models = commands.add_parser("models", parents=[common], help="list the models, their cost and availability")
    models.add_argument("--json", action="store_true", help="print JSON")
    balance = commands.add_parser("balance", parents=[common], help="show the account's credits")
    balance.add_argument("--json", action="store_true", help="print JSON")
    usage = commands.add_parser("usage", parents=[common], help="calls and credits over the last days")
    usage.add_argument("--days", type=int, default=30, help="how many days, 1-365 (default: 30)")
    usage.add_argument("--json", action="store_true", help="print the API's JSON")

    predict = commands.add_parser(
        "predict", parents=[common], help="run a model on files, folders and URLs",
        description="Run MODEL on every INPUT: image files, folders (walked recursively, images only) or http(s):// URLs. "
                    "Results are JSON Lines, one per input; with --out, inputs already ok in that file are skipped, so a "
                    "stopped run continues where it stopped.")
    predict.add_argument("model", metavar="MODEL", help="model slug, e.g. general-classification (see `nexuspoint models`)")
    predict.add_argument("inputs", metavar="INPUT", nargs="+", help="image file, folder or URL")
    predict.add_argument("-j", "--concurrency", type=int, default=4, help="calls in parallel (default: 4)")
    predict.add_argument("-o", "--out", metavar="FILE.jsonl", help="append results here and skip inputs already ok (default: stdout)")
    predict.add_argument("--save", metavar="DIR", help="write background-removal PNGs, or copies with the results drawn (needs Pillow)")
    predict.add_argument("--min-confidence", type=float, metavar="X", help="drop results scored below X (0-1)")
    predict.add_argument("--max-results", type=int, metavar="N", help="keep the N best results per image")
    predict.add_argument("--lang", help="language hint for text-recognition, e.g. en")
    predict.add_argument("-y", "--yes", action="store_true", help="run even if the balance doesn't cover every image")
    predict.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


COMMANDS = {"models": cmd_models, "balance": cmd_balance, "usage": cmd_usage, "predict": cmd_predict}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    client = Client(api_key=args.api_key, base_url=args.base_url, timeout=args.timeout, max_retries=args.max_retries)
    try:
        return COMMANDS[args.command](client, args)
    except UsageError as exc:
        say(f"nexuspoint {args.command}: error: {exc}")
        return EXIT_USAGE
    except APIError as exc:
        say(f"error: {exc.message}" + (f" (HTTP {exc.status}, {exc.code}, request {exc.request_id})" if exc.status else ""))
        return EXIT_FAILED
    except KeyboardInterrupt:
        say("Stopped by Ctrl-C.")
        return EXIT_INTERRUPTED
    finally:
        client.close()
