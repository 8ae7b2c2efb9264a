"""Signed form submissions per second into one ``syncline web`` on PostgreSQL, and the lag.

Run: ``.venv/bin/python -m bench.hooks [--seconds 20] [--threads 8] [--workers 2]
[--server postgresql+psycopg://postgres@127.0.0.1:5432] [--small]``.

It makes a throwaway database on the server (dropped at the end), initialises it, writes a
connections file with one Standard Webhooks source (a random secret, a rate limit out of the
way) and the shipped forms mapping (forms-website.yaml), and starts ``syncline web`` as a
child process on a free loopback port. Client threads then post signed submissions, each
with a new email, for ``--seconds``.
Printed: requests per second answered 202, p50/p99 latency to the 202, the answers by status,
and the processing lag: from the last 202 until every accepted submission is processed, its
person upserted and its form_fill touch recorded (the web process's worker runs the forms
mapping after each 202, coalescing). No
assertion: the figures are for reading. ``--small`` is the smoke run (2 s, 2 threads).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import create_engine, text

from inbound.signatures import sign

REPO = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
SOURCE = "website-forms"
#: The shipped forms mapping (people, a form_fill touch each) and the files it needs.
SHIPPED = ("forms-website.yaml", "programs.yaml", "hub.yaml")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _admin(server: str) -> Any:
    return create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


class Web:
    """``syncline web`` in a child process on a throwaway database."""

    def __init__(self, folder: Path, url: str, secret: str, workers: int) -> None:
        self.port = _free_port()
        self.url = url
        (folder / "mappings").mkdir()
        for name in SHIPPED:
            shutil.copyfile(REPO / "mappings" / name, folder / "mappings" / name)
        (folder / "connections.yaml").write_text(yaml.safe_dump({SOURCE: {
            "type": "webhook", "scheme": "standard", "secret": "${BENCH_FORMS_SECRET}",
            "rate_per_minute": 10_000_000}}))
        self.env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO),
                    "BENCH_FORMS_SECRET": secret}
        self.command = [sys.executable, "-m", "cli", "--config", str(folder / "connections.yaml"),
                        "--mappings", str(folder / "mappings")]
        subprocess.run([*self.command, "init"], env=self.env, cwd=folder, check=True,
                       capture_output=True)
        self.process = subprocess.Popen(
            [*self.command, "web", "--port", str(self.port), "--workers", str(workers),
             "--threads", "8"],
            env=self.env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit("syncline web did not answer within 60 s")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _client(base: str, secret: str, until: float, n: int, out: list[tuple[int, float]]) -> None:
    """Post signed submissions until ``until``; each answer's status and latency."""
    http = requests.Session()
    i = 0
    while time.monotonic() < until:
        email = f"bench{n}x{i}@example.com"
        body = json.dumps({"email": email, "first_name": "Bench", "last_name": f"T{n}",
                           "form_id": "newsletter", "page_url": "https://www.example.com/news",
                           "utm": {"source": "bench", "medium": "email"}}).encode()
        headers = sign("standard", secret, body, event_id=f"msg_{n}_{i}",
                       timestamp=int(time.time()))
        started = time.perf_counter()
        try:
            answer = http.post(f"{base}/hooks/{SOURCE}", data=body, timeout=30,
                               headers={**headers, "Content-Type": "application/json"})
            status = answer.status_code
        except requests.RequestException:
            status = 0
        out.append((status, time.perf_counter() - started))
        i += 1


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One measurement; returns the figures it printed."""
    name = f"syncline_bench_hooks_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _admin(args.server)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{args.server}/{name}"
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    web: Web | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-hooks-") as folder:
            web = Web(Path(folder), url, secret, args.workers)
            results: list[list[tuple[int, float]]] = [[] for _ in range(args.threads)]
            started = time.monotonic()
            until = started + args.seconds
            threads = [threading.Thread(target=_client, args=(web.base, secret, until, n, out))
                       for n, out in enumerate(results)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            last_answer = time.monotonic()
            answers = [a for out in results for a in out]
            accepted = sum(1 for status, _ in answers if status == 202)
            # Processed: its person upserted and its form_fill touch recorded.
            while _count(url, "SELECT count(*) FROM touch") < accepted:
                if time.monotonic() - last_answer > args.lag_limit:
                    break
                time.sleep(0.1)
            lag = time.monotonic() - last_answer
            processed = _count(url, "SELECT count(*) FROM touch")
            runs = _count(url, "SELECT count(*) FROM sync_run WHERE trigger = 'webhook'")
    finally:
        if web is not None:
            web.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    elapsed = last_answer - started
    latencies = [seconds * 1000 for status, seconds in answers if status == 202]
    figures = {
        "seconds": round(elapsed, 1), "threads": args.threads, "workers": args.workers,
        "requests": len(answers), "accepted": accepted,
        "accepted_per_second": round(accepted / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "by_status": dict(sorted(Counter(status for status, _ in answers).items())),
        "processed": processed, "processing_lag_s": round(lag, 2), "webhook_runs": runs,
        "all_processed": processed >= accepted,
    }
    print(f"hooks: {figures['requests']:,} requests in {figures['seconds']} s from "
          f"{args.threads} client threads into syncline web ({args.workers} workers, "
          "PostgreSQL)")
    print(f"  accepted (202):   {accepted:,}  = {figures['accepted_per_second']:,} requests/s")
    print(f"  latency to 202:   p50 {figures['p50_ms']} ms · p99 {figures['p99_ms']} ms · "
          f"mean {figures['mean_ms']} ms")
    print(f"  answers:          {figures['by_status']}")
    done = "every one" if figures["all_processed"] else f"only {processed:,} of {accepted:,}"
    print(f"  processing lag:   {figures['processing_lag_s']} s after the last 202 until "
          f"{done} was processed: its person and form_fill touch in the hub "
          f"({runs} webhook-triggered runs)")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL server URL, no database")
    parser.add_argument("--lag-limit", type=float, default=300.0,
                        help="Stop waiting for processing after this many seconds.")
    parser.add_argument("--small", action="store_true", help="A smoke run: 2 s, 2 threads.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON too.")
    args = parser.parse_args(argv)
    if args.small:
        args.seconds, args.threads, args.workers = 2.0, 2, 1
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
