#!/usr/bin/env python3
"""Benchmark of the issuance paths (not a test): ``./scripts/bench [--quick] [--skip-1m]``.

Starts a throwaway stack on free ports in a temp dir (nx-27017, redis-server, SeaweedFS S3, one
API, one arq worker; nothing listens on SMTP_PORT: count mode sends no mail), creates a merchant
with the CLI and a program over HTTP, then prints one line per figure (``name: value unit``)
and the ratios, all from this one run; progress goes to stderr. Every process it started is
stopped at the end (finally + atexit in scripts/devstack), also on Ctrl-C / SIGTERM.

Run from the repo root as ``python -m scripts.bench`` (scripts/bench does). With
``BENCH_PROFILE_WORKER=/tmp/w.prof`` each worker runs under cProfile and writes its stats to
``/tmp/w.prof.worker<N>`` when stopped (CPU figures are then inflated by the profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import csv
import io
import itertools
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bson
import httpx
from pymongo import AsyncMongoClient

from app.domain.fulfillment.events import SIGNATURE_HEADER, sign
from app.lib.card_numbers import CardVault, number_source  # the crypto floor's own calls
from app.lib.object_ids import new_object_ids
from app.lib.settings import Settings
from app.storage.models import Card  # CARD_INDEXES below
from scripts import devstack

ROOT, HOST, BUCKET = devstack.ROOT, "127.0.0.1", "bench-exports"
INSERT_BATCH = 5_000  # like the worker's chunks (BATCH_CHUNK_SIZE)
WORKER_IDS = itertools.count(1)
FIGURES = ("async", "inline", "rss", "scale", "poll", "fulfill", "fairness")
WORKER_READY = "Starting worker for"  # arq logs it once connected to Redis
CARD = {"merchant_id": "6" * 24, "program_id": "7" * 24, "initial_value": 1000, "balance": 1000}
CARD |= {"currency": "USD", "status": "active", "is_physical": False, "design_template": None}
CARD |= {"recipient": None, "notification": None, "shipping_config_id": None}
CARD |= {"personalization": None, "fulfillment": None}  # + the per-card fields in card_docs()
CARD_INDEXES = Card.Settings.indexes  # the baselines write with exactly the cards' indexes
FLOOR_CARDS = 20_000  # cards in the crypto-floor loop (5,000 with --quick)
FLOOR_SAMPLE = 2_000  # cards in each floor sample taken beside a batch
CPU_RATIO_TARGET = 2.0  # CPU per card <= this many times the crypto floor
INLINE_TARGET = 1.5  # an inline 50 <= this many times a raw insert of 50 + a no-op GET
FULFILL_TARGET = 1.5  # an order's cut + manifest <= this many times a raw update_many
BOX_SIZE = 2_000  # the app's default: the bench's stack does not set BOX_SIZE


class BenchError(RuntimeError):
    """A figure could not be measured (reported; the other figures still run)."""


def say(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def out(name: str, value: str, how: str = "") -> None:
    """One figure: ``name: value unit  (how it was measured)``."""
    print(f"{name}: {value}" + (f"  ({how})" if how else ""), flush=True)


def target(value: float, op: str, limit: float) -> str:
    ok = value >= limit if op == ">=" else value <= limit
    return f"target {op} {limit:g}: {'ok' if ok else 'MISSED'}"


def label(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# --------------------------------------------------------------------------- the stack


def start_services(tmp: Path) -> dict[str, str]:
    """Mongo, Redis, S3 on free ports; returns the app's env (settings) pointing at them."""
    say("starting nx-27017, redis-server, weed mini")

    def files(name: str) -> dict:
        run = tmp / "run" / f"{name}.pid"
        return {"data_dir": tmp / name, "log_path": tmp / f"{name}.log", "pid_path": run}

    mongo = devstack.start_mongo(port=devstack.free_port(HOST), **files("mongo"))
    redis = devstack.start_redis(port=devstack.free_port(HOST), persist=False, **files("redis"))
    key, secret = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(30)
    port = devstack.free_port_pair(HOST)  # weed wants port + 10000 free too
    s3 = devstack.start_s3(
        port=port, access_key=key, secret_key=secret, bucket=BUCKET, **files("s3")
    )
    return devstack.isolated_env(
        {
            "API_HOST": HOST,
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "MONGODB_URL": mongo.url,
            "MONGODB_DB": f"bench_{secrets.token_hex(4)}",
            "REDIS_URL": redis.url,
            "S3_ENDPOINT_URL": s3.url,
            "S3_BUCKET": BUCKET,
            "S3_ACCESS_KEY": key,
            "S3_SECRET_KEY": secret,
            "SMTP_HOST": HOST,
            "SMTP_PORT": str(devstack.free_port(HOST)),  # nothing listens: count mode sends no mail
            "JWT_SECRET": secrets.token_urlsafe(48),
            "CARD_HASH_KEY": secrets.token_urlsafe(32),
            "CARD_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DEMO_API_KEY": "demo_" + secrets.token_hex(12),
            "RATE_LIMIT_PER_MERCHANT": "1000000/minute",  # counted, never refused: a load test
        }
    )


def start_app(name: str, argv: list[str], env: dict, tmp: Path, ready, what: str):
    """An API or worker subprocess, its cwd a fresh dir (so no .env is read)."""
    (tmp / name).mkdir()
    log = tmp / name / f"{name}.log"
    proc = devstack.ManagedProcess(name, argv, log_path=log, env=env, cwd=tmp / name)
    proc.start().wait_ready(lambda: ready(proc), 90, what)
    return proc


def start_worker(env: dict, tmp: Path) -> devstack.ManagedProcess:
    name = f"worker{next(WORKER_IDS)}"
    say(f"starting {name}")
    ready = lambda p: WORKER_READY in p.log_path.read_text(errors="replace")  # noqa: E731
    argv = devstack.worker_argv()
    if profile := os.environ.get("BENCH_PROFILE_WORKER"):  # cProfile stats, written on stop
        argv = [argv[0], "-m", "cProfile", "-o", f"{profile}.{name}", *argv[1:]]
    return start_app(name, argv, env, tmp, ready, repr(WORKER_READY))


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` so far (/proc/<pid>/stat utime, stime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": field 3 is fields[0]
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_since(pid: int, before: tuple[float, float]) -> tuple[float, float]:
    user, system = cpu_seconds(pid)
    return user - before[0], system - before[1]


def crypto_floor_us(n: int, clock=time.process_time) -> float:
    """CPU µs per card of the work no issuance can avoid, in a tight loop in this process:
    CSPRNG digits + Luhn, HMAC-SHA256 fingerprint and AES-GCM of the number (CardVault), one
    CSV row (csv.writer, as the export writes them) and bson.encode of one card document.
    Numbers and ids are drawn the cheapest way the app knows (in bulk, as the worker does):
    the floor must not carry a cost the worker has already cut."""
    vault = CardVault(secrets.token_urlsafe(32), base64.b64encode(os.urandom(32)).decode())
    now = datetime.now(UTC)
    fixed = {**CARD, "bulk_issuance_id": "8" * 24, "expires_at": now + timedelta(days=365)}
    shared_cells = ["10.00", "USD", "2027-11-24T00:00:00Z"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    t0 = clock()
    numbers, ids = number_source("627100", 19).take(n), new_object_ids(n)
    for seq in range(n):
        card_id, number = ids[seq], numbers[seq]
        card_key = str(card_id)
        doc = {
            "_id": card_id,
            **fixed,
            "seq": seq,
            "number_hash": vault.fingerprint(number),
            "number_enc": vault.encrypt(number, card_key),
            "last_four": number[-4:],
            "created_at": now,
        }
        bson.encode(doc)
        writer.writerow([card_key, number, number[-4:], *shared_cells])
    buffer.getvalue().encode("utf-8")
    return (clock() - t0) / n * 1e6


@contextlib.asynccontextmanager
async def floor_beside(samples: list[float], every: float = 1.0):
    """Samples the crypto floor (FLOOR_SAMPLE cards, the thread's own CPU clock) in a thread
    every ``every`` seconds while the block runs: the floor on the same machine at the same
    moment as the work it is compared with. On this VM a floor measured apart from the batch
    moved by 40% between two runs a minute apart (27.0 then 15.9 µs) while the worker's CPU
    per card moved the other way (29.8 then 38.5 µs)."""
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            samples.append(await asyncio.to_thread(crypto_floor_us, FLOOR_SAMPLE, time.thread_time))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        stop.set()
        await task


async def floor_us(ctx: Ctx) -> float:
    """The crypto floor, measured once per run (the first figure that needs it)."""
    if ctx.floor_us is None:
        n = 5_000 if ctx.args.quick else FLOOR_CARDS
        ctx.floor_us = crypto_floor_us(n)
        how = f"{n:,} cards in a tight loop in the bench process: CSPRNG digits + Luhn and "
        how += "ObjectIds drawn in bulk, HMAC-SHA256, AES-GCM, one csv row, bson.encode of a "
        how += "card document"
        out("crypto_floor_per_card", f"{ctx.floor_us:.1f} µs", how)
    return ctx.floor_us


async def cpu_figure(
    ctx: Ctx,
    name: str,
    cpu: tuple[float, float],
    cards: int,
    how: str,
    target_ratio: float | None = CPU_RATIO_TARGET,
    beside: list[float] | None = None,
) -> None:
    """``name``: CPU µs per card, then its ratio to the crypto floor (with the target, if any:
    the issue sets none for the API, whose CPU per request is shared by its 50 cards). With
    ``beside`` (floor samples taken while the work ran) the target is on the ratio to their
    median, and the ratio to the floor measured apart is printed too."""
    per_card = sum(cpu) / cards * 1e6
    how += f" ({sum(cpu):.2f} s: user {cpu[0]:.2f} s + system {cpu[1]:.2f} s)"
    out(name, f"{per_card:.1f} µs", how)
    apart = per_card / await floor_us(ctx)
    if beside:
        floor = statistics.median(beside)
        how = f"median of {len(beside)} samples of {FLOOR_SAMPLE:,} cards, each in a thread of "
        how += f"the bench while the batch ran ({min(beside):.1f}-{max(beside):.1f} µs)"
        out("crypto_floor_beside_batch", f"{floor:.1f} µs", how)
        ratio = per_card / floor
        how = target(ratio, "<=", target_ratio) if target_ratio else "printed, no target"
        out(f"{name}/crypto_floor_beside_batch", f"{ratio:.2f}", how)
        how = "the floor measured apart, after the batch: printed, no target"
    else:
        how = target(apart, "<=", target_ratio) if target_ratio else "printed, no target"
    out(f"{name}/crypto_floor_per_card", f"{apart:.2f}", how)


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmHWM in /proc/{pid}/status")


# --------------------------------------------------------------------------- raw baselines


def card_docs(bulk_id: str, start: int, n: int) -> list[dict]:
    """Documents shaped like the worker's cards (app/domain/issuance/generation.py)."""
    now = datetime.now(UTC)
    fixed = {**CARD, "bulk_issuance_id": bulk_id, "created_at": now}
    fixed["expires_at"] = now + timedelta(days=365)
    return [
        {
            **fixed,
            "seq": seq,
            "number_hash": secrets.token_hex(32),  # like an HMAC-SHA256 hex digest
            "number_enc": os.urandom(28),  # stands in for the encrypted number
            "last_four": f"{seq % 10_000:04d}",
        }
        for seq in range(start, start + n)
    ]


async def raw_inserts(db, n: int, size: int) -> list[float]:
    """Seconds of each insert_many(ordered=False) of ``size`` docs (``n`` in all) into a fresh
    collection with the cards' unique indexes; documents are built outside the timing."""
    coll = db[f"bench_raw_{secrets.token_hex(4)}"]
    await coll.create_indexes(CARD_INDEXES)
    bulk_id, times = secrets.token_hex(12), []
    try:
        for start in range(0, n, size):
            docs = card_docs(bulk_id, start, min(size, n - start))
            t0 = time.perf_counter()
            await coll.insert_many(docs, ordered=False)
            times.append(time.perf_counter() - t0)
    finally:
        await coll.drop()
    return times


# --------------------------------------------------------------------------- the API


@dataclass
class Ctx:
    args: argparse.Namespace
    env: dict[str, str]
    tmp: Path
    http: httpx.AsyncClient  # carries the bearer token
    db: object
    program_url: str  # /v2/giftcards/programs/{id}
    worker: devstack.ManagedProcess
    api_proc: devstack.ManagedProcess
    completed_task: str | None = None
    floor_us: float | None = None  # the crypto floor, once measured
    raw_rate: float | None = None  # raw insert docs/s, once measured (fig_async)
    one_worker: tuple[float, float] | None = None  # the biggest batch on 1 worker: rate, CPU/card
    helpers: list[devstack.ManagedProcess] | None = None  # more workers (fig_scale)

    @property
    def bulk(self) -> str:
        return f"{self.program_url}/cards/bulk"


class TokenAuth(httpx.Auth):
    """The bench's bearer token, fetched again when the API answers 401, as a client does: a
    token lives JWT_TTL_SECONDS (an hour), and the 10M run outlives it (its poll got a 401 at
    7.6M cards and the run was lost)."""

    requires_response_body = True

    def __init__(self, token_url: str, api_key: str) -> None:
        self.token_url, self.api_key, self.token = token_url, api_key, ""

    def _sign_in(self):
        response = yield httpx.Request("POST", self.token_url, json={"apiKey": self.api_key})
        response.raise_for_status()
        self.token = response.json()["accessToken"]

    def auth_flow(self, request: httpx.Request):
        if not self.token:
            yield from self._sign_in()
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            yield from self._sign_in()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


async def api(http: httpx.AsyncClient, method: str, path: str, expect: int, **kw) -> dict:
    """One API call; any other status than ``expect`` is a BenchError."""
    r = await http.request(method, path, **kw)
    if r.status_code != expect:
        raise BenchError(f"{method} {path}: {r.status_code} {r.text[:200]}")
    return r.json()


async def poll(http: httpx.AsyncClient, path: str) -> dict:
    """A poll, as a client polls: a 503 (the database too busy to answer in time, as the
    embedded one can be under two workers) is asked again after its Retry-After."""
    while True:
        r = await http.get(path)
        if r.status_code != 503:
            break
        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
    if r.status_code != 200:
        raise BenchError(f"GET {path}: {r.status_code} {r.text[:200]}")
    return r.json()


async def run_batch(ctx: Ctx, count: int, polls: list[float] | None = None) -> tuple[dict, float]:
    """POST a queued batch, poll its task every 0.2 s until completed: (task, seconds); each
    poll's seconds go to ``polls``."""
    t0 = time.perf_counter()
    body = {"initialValue": "10.00", "count": count}
    task_id = (await api(ctx.http, "POST", ctx.bulk, 202, json=body))["taskId"]
    deadline = t0 + 120 + count / 200
    seen, last, changed, said = [], None, t0, 0.0
    while True:
        asked = time.perf_counter()
        task = await poll(ctx.http, f"/v2/giftcards/tasks/{task_id}")
        now = time.perf_counter()
        if polls is not None:
            polls.append(now - asked)
        if task.get("status") == "completed":
            return task, now - t0
        state = (task.get("status"), task.get("issuedCount"))
        if state != last:
            if last is None or state[0] != last[0] or now - said > 10:  # not every chunk
                seen.append(f"{state[0]}@{state[1]}")
                say(f"task {task_id}: {state[0]}, {state[1]} issued")
                said = now
            last, changed = state, now
        stuck = now - changed > (60 if state[0] == "pending" else 300)
        if state[0] == "failed" or stuck or now > deadline or not ctx.worker.alive():
            log = " | ".join(devstack.tail(ctx.worker.log_path, 4).splitlines())
            raise BenchError(
                f"task {task_id} not completed after {now - t0:.0f} s; seen {' -> '.join(seen)}; "
                f"error={task.get('error')!r}; worker alive={ctx.worker.alive()}, log tail: {log}"
            )
        await asyncio.sleep(0.2)


async def csv_rows(url: str) -> int:
    async with httpx.AsyncClient(timeout=120) as plain, plain.stream("GET", url) as resp:
        resp.raise_for_status()
        lines = 0
        async for chunk in resp.aiter_bytes():
            lines += chunk.count(b"\n")
    return lines - 1  # the header


async def timed(n: int, call, warmup: int = 10) -> list[float]:
    times = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        await call()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


async def rps(http: httpx.AsyncClient, path: str, seconds: float, clients: int = 50):
    """(200 responses per second, errors) of ``clients`` loops sharing one client."""
    counts = {"ok": 0, "err": 0}
    stop_at = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < stop_at:
            try:
                ok = (await http.get(path)).status_code == 200
            except httpx.HTTPError:
                ok = False
            counts["ok" if ok else "err"] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return counts["ok"] / (time.perf_counter() - t0), counts["err"]


# --------------------------------------------------------------------------- the figures


async def fig_async(ctx: Ctx) -> None:
    """1. A queued batch end to end vs raw insert_many of as many documents."""
    n = ctx.args.count_async
    name = label(n)
    say(f"raw insert_many of {n} docs, then a queued batch of {n}")
    raw = n / sum(await raw_inserts(ctx.db, n, INSERT_BATCH))
    ctx.raw_rate = raw
    how = f"AsyncMongoClient insert_many(ordered=False) by {INSERT_BATCH}, the cards' indexes"
    out(f"raw_insert_{name}", f"{raw:,.0f} docs/s", how)
    floors: list[float] = []
    cpu_before = cpu_seconds(ctx.worker.pid)
    async with floor_beside(floors):
        task, seconds = await run_batch(ctx, n)
    worker_cpu = cpu_since(ctx.worker.pid, cpu_before)
    ctx.completed_task = task["taskId"]
    rows = await csv_rows(task["csvDownloadUrl"])  # not timed
    how = f"POST -> task completed incl. CSV in {seconds:.1f} s; CSV rows: {rows}"
    out(f"async_{name}", f"{n / seconds:,.0f} cards/s", how + ("" if rows == n else " MISMATCH"))
    ratio = n / seconds / raw
    out(f"async_{name}/raw_insert_{name}", f"{ratio:.2f}", target(ratio, ">=", 0.85))
    how = f"worker utime+stime from /proc over the {name} batch / cards"
    await cpu_figure(ctx, "worker_cpu_per_card", worker_cpu, n, how, beside=floors)


async def fig_inline(ctx: Ctx) -> None:
    """2. An inline batch of 50 vs a raw insert of 50 plus a no-op authenticated GET, the four
    calls taken in turn, round after round, so each meets the same state of the machine (one
    series after another gave baselines that moved by a third between runs)."""
    n, body = ctx.args.requests, {"initialValue": "5.00", "count": 50}
    say(f"{n} rounds of: inline batch of 50, the same keyed, raw insert of 50, no-op GET")
    post = lambda: api(ctx.http, "POST", ctx.bulk, 201, json=body)  # noqa: E731

    def keyed():  # what a client that retries safely sends: Redis and MongoDB claim the key
        headers = {"Idempotency-Key": secrets.token_hex(16)}
        return api(ctx.http, "POST", ctx.bulk, 201, json=body, headers=headers)

    await timed(0, post)  # the warm-ups, outside the CPU count
    cpu_before = cpu_seconds(ctx.api_proc.pid)
    await timed(n, post, warmup=0)
    api_cpu = cpu_since(ctx.api_proc.pid, cpu_before)
    raw = db_inserts_of_50(ctx.db)
    await raw.__anext__()  # creates the collection and its indexes
    noop = lambda: api(ctx.http, "GET", ctx.program_url, 200)  # noqa: E731
    calls = {"inline": post, "keyed": keyed, "raw": raw.__anext__, "noop": noop}
    series: dict[str, list[float]] = {name: [] for name in calls}
    try:
        for i in range(10 + n):
            for name, call in calls.items():
                t0 = time.perf_counter()
                await call()
                if i >= 10:
                    series[name].append(time.perf_counter() - t0)
    finally:
        await raw.aclose()
    p99 = statistics.quantiles(series["inline"], n=100, method="inclusive")[98]
    med = {name: statistics.median(times) for name, times in series.items()}
    how = f"{n} POSTs, each 201 with 50 cards + CSV"
    out("inline_50", f"median {ms(med['inline'])}, p99 {ms(p99)}", how)
    out("raw_insert_50", f"median {ms(med['raw'])}", f"{n} insert_many of 50, the cards' indexes")
    out("noop_get", f"median {ms(med['noop'])}", "authenticated GET /v2/giftcards/programs/{id}")
    base = med["raw"] + med["noop"]
    ratio = med["inline"] / base
    out("inline_50/(raw_insert_50+noop_get)", f"{ratio:.2f}", target(ratio, "<=", INLINE_TARGET))
    how = f"{n} POSTs like inline_50, each with a new Idempotency-Key"
    out("inline_50_keyed", f"median {ms(med['keyed'])}", how)
    keyed_ratio = med["keyed"] / base
    how = f"same baseline; {target(keyed_ratio, '<=', INLINE_TARGET)}"
    out("inline_50_keyed/(raw_insert_50+noop_get)", f"{keyed_ratio:.2f}", how)
    how = f"API utime+stime from /proc over {n} POSTs (a loop of their own) / {50 * n} cards"
    await cpu_figure(ctx, "api_cpu_per_inline_card", api_cpu, 50 * n, how, target_ratio=None)


async def db_inserts_of_50(db):
    """Each step inserts the next 50 card-shaped docs (built untimed, ahead) into one fresh
    collection with the cards' indexes; dropped when closed."""
    coll = db[f"bench_raw_{secrets.token_hex(4)}"]
    await coll.create_indexes(CARD_INDEXES)
    bulk_id, start = secrets.token_hex(12), 0
    try:
        yield
        while True:
            docs = card_docs(bulk_id, start, 50)
            start += 50
            yield await coll.insert_many(docs, ordered=False)
    finally:
        await coll.drop()


async def fig_rss(ctx: Ctx) -> None:
    """3. The worker's peak RSS per batch size, each batch on a fresh worker; the biggest
    batch's rate (1M, or 10M with --10m), its CSV's rows and what its polls cost."""
    peaks: dict[int, float] = {}
    small, big = ctx.args.rss_sizes[0], ctx.args.rss_sizes[-1]
    for count in ctx.args.rss_sizes:
        ctx.worker.stop()
        ctx.worker = start_worker(ctx.env, ctx.tmp)
        try:
            say(f"queued batch of {count:,} on a fresh worker (pid {ctx.worker.pid})")
            cpu_before = cpu_seconds(ctx.worker.pid)
            polls: list[float] = []
            task, seconds = await run_batch(ctx, count, polls)
            peaks[count] = vm_hwm_mib(ctx.worker.pid)  # the worker is still alive
            ctx.one_worker = (count / seconds, sum(cpu_since(ctx.worker.pid, cpu_before)) / count)
        except BenchError as exc:
            out(f"worker_peak_rss_{label(count)}", "FAILED", str(exc))
            continue
        ctx.completed_task = ctx.completed_task or task["taskId"]
        how = f"VmHWM of a fresh worker after the batch, {seconds:.0f} s end to end"
        out(f"worker_peak_rss_{label(count)}", f"{peaks[count]:.0f} MiB", how)
        if count >= 1_000_000:
            name = f"async_{label(count)}"
            out(name, f"{count / seconds:,.0f} cards/s", "POST -> completed incl. CSV")
            if ctx.raw_rate:
                ratio = count / seconds / ctx.raw_rate
                how = f"{target(ratio, '>=', 0.8)}; raw insert rate of this run's async figure"
                out(f"{name}/raw_insert_{label(ctx.args.count_async)}", f"{ratio:.2f}", how)
            p99 = statistics.quantiles(polls, n=100, method="inclusive")[98]
            how = f"{len(polls)} GET /v2/giftcards/tasks/{{id}} while it ran, one every 0.2 s"
            out(
                f"poll_during_{label(count)}",
                f"median {ms(statistics.median(polls))}, p99 {ms(p99)}",
                how,
            )
        if count >= 10_000_000:  # the 1M batch's CSV is counted by fig_async's smaller kin
            rows = await csv_rows(task["csvDownloadUrl"])
            out(f"csv_rows_{label(count)}", f"{rows:,}", "ok" if rows == count else "MISMATCH")
    if small in peaks and big in peaks and big != small:
        ratio = peaks[big] / peaks[small]
        how = f"{target(ratio, '<=', 1.25)}; {label(big)} under 300 MiB: "
        how += "ok" if peaks[big] < 300 else "MISSED"
        out(f"worker_peak_rss_{label(big)}/worker_peak_rss_{label(small)}", f"{ratio:.2f}", how)
    elif big != small:
        name = f"worker_peak_rss_{label(big)}/worker_peak_rss_{label(small)}"
        out(name, "n/a", f"the {label(big)} batch did not complete")
    elif not ctx.args.quick:
        out("worker_peak_rss_1M/worker_peak_rss_100k", "n/a", "no 1M batch: --skip-1m")


async def fig_scale(ctx: Ctx) -> None:
    """5. The same batch spread over two workers (BATCH_MAX_WORKERS lanes), against one."""
    count = ctx.args.rss_sizes[-1]
    if ctx.one_worker is None:
        raise BenchError("no batch on one worker to compare with (the rss figure)")
    ctx.worker.stop()
    ctx.worker = start_worker(ctx.env, ctx.tmp)
    ctx.helpers = [start_worker(ctx.env, ctx.tmp)]
    workers = [ctx.worker, *ctx.helpers]
    say(f"queued batch of {count} on {len(workers)} fresh workers")
    before = [cpu_seconds(w.pid) for w in workers]
    task, seconds = await run_batch(ctx, count)
    spent = [sum(cpu_since(w.pid, b)) for w, b in zip(workers, before, strict=True)]
    cpu = sum(spent) / count
    rate, (one_rate, one_cpu) = count / seconds, ctx.one_worker
    worked = sum(1 for seconds_used in spent if seconds_used > 1.0)
    how = f"POST -> completed incl. CSV on 2 workers ({worked} did work)"
    out(f"async_{label(count)}_2_workers", f"{rate:,.0f} cards/s", how)
    how = "the same batch on 2 workers over 1; the embedded database's pace caps it"
    out(f"async_{label(count)}_2_workers/1_worker", f"{rate / one_rate:.2f}", how)
    for n, per_card in ((1, one_cpu), (2, cpu)):
        how = f"{n} worker(s) / worker CPU per card ({per_card * 1e6:.1f} µs): the rate a "
        how += "database with headroom would let them reach"
        out(f"cpu_ceiling_{n}_worker{'s' if n > 1 else ''}", f"{n / per_card:,.0f} cards/s", how)
    for helper in ctx.helpers:
        helper.stop()
    ctx.helpers = None


async def fig_poll(ctx: Ctx) -> None:
    """4. Task polls vs GET /health, 50 concurrent clients each."""
    if ctx.completed_task is None:
        raise BenchError("no completed task to poll")
    secs = ctx.args.seconds
    windows = max(1, round(secs))
    say(f"50 concurrent clients on /health and on the task poll, {windows} x 1 s each, in turn")
    await rps(ctx.http, "/health", 1)  # warm-up: opens the 50 connections
    # alternating 1 s windows: background work (a cron sweep, the stores' own housekeeping
    # after a big batch) weighs on both alike instead of on whichever ran second
    path = f"/v2/giftcards/tasks/{ctx.completed_task}"
    health_runs, poll_runs = [], []
    for _ in range(windows):
        health_runs.append(await rps(ctx.http, "/health", 1))
        poll_runs.append(await rps(ctx.http, path, 1))
    health = statistics.mean(rate for rate, _ in health_runs)
    poll = statistics.mean(rate for rate, _ in poll_runs)
    health_err, poll_err = (sum(err for _, err in runs) for runs in (health_runs, poll_runs))
    out("health_rps", f"{health:,.0f} req/s", f"GET /health, {windows} s, {health_err} errors")
    how = f"GET /v2/giftcards/tasks/{{id}} (completed), {windows} s, {poll_err} errors"
    out("poll_rps", f"{poll:,.0f} req/s", how)
    how = f"{target(poll / health, '>=', 0.5)}; load generator: one httpx.AsyncClient, 50 "
    how += "keep-alive HTTP/1.1 connections, on the same 2 cores as the API: it takes CPU from it"
    out("poll_rps/health_rps", f"{poll / health:.2f}", how)


SHIPPING = {
    "recipientName": {"firstName": "Jane", "lastName": "Smith"},
    "address": {"line1": "1 Main St", "city": "Seattle", "state": "WA", "postalCode": "98109",
                "countryCode": "US"},
    "method": "STANDARD",
}  # fmt: skip


async def raw_update_many(db, n: int) -> float:
    """Seconds of one update_many claiming ``n`` physical card-shaped docs (inserted untimed)
    in the app's own `cards` collection (so it pays what the cut pays for the cards already
    there: nx-27017 slows as a collection grows), removed again afterwards."""
    coll = db["cards"]
    bulk_id, config_id = secrets.token_hex(12), secrets.token_hex(12)
    try:
        for start in range(0, n, INSERT_BATCH):
            docs = card_docs(bulk_id, start, min(INSERT_BATCH, n - start))
            for doc in docs:
                doc["shipping_config_id"] = config_id
                doc["fulfillment"] = {"status": "CREATED", "order_id": None, "updated_ms": 0}
            await coll.insert_many(docs, ordered=False)
        t0 = time.perf_counter()
        query = {"shipping_config_id": config_id, "fulfillment.status": "CREATED"}
        order = {"fulfillment.status": "ORDERED", "fulfillment.order_id": secrets.token_hex(12)}
        done = await coll.update_many(query, {"$set": order})
        seconds = time.perf_counter() - t0
    finally:
        await coll.delete_many({"program_id": CARD["program_id"], "bulk_issuance_id": bulk_id})
    if done.modified_count != n:
        raise BenchError(f"raw update_many modified {done.modified_count} of {n}")
    return seconds


async def fig_fulfill(ctx: Ctx, after: str = "") -> None:
    """5. Cut and submit a fulfillment order of n physical cards vs a raw update_many of n
    (``after``: the suffix of a second measure, on a database that holds the big batches)."""
    n = ctx.args.count_fulfill or ctx.args.count_async
    name = label(n) + after
    say(f"raw update_many of {n} docs, then {n} physical cards issued and fulfilled")
    raw = None if ctx.args.no_raw_update else await raw_update_many(ctx.db, n)
    if raw is not None:
        how = "one AsyncMongoClient update_many of card-shaped docs in the app's cards collection"
        out(f"raw_update_many_{name}", f"{raw:.2f} s", how)
    body = {"name": "Bench store", "policy": "MANUAL", "shipping": SHIPPING}
    config = await api(ctx.http, "POST", "/v2/giftcards/shipping-configs", 201, json=body)
    issue = {"initialValue": "10.00", "count": n, "isPhysical": True}
    issue |= {"shippingConfigId": config["id"]}
    task_id = (await api(ctx.http, "POST", ctx.bulk, 202, json=issue))["taskId"]
    deadline = time.perf_counter() + 120 + n / 200
    while (await poll(ctx.http, f"/v2/giftcards/tasks/{task_id}"))["status"] not in (
        "completed",
        "failed",
    ):
        if time.perf_counter() > deadline:
            raise BenchError(f"physical batch {task_id} not completed")
        await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    fulfill = f"/v2/giftcards/shipping-configs/{config['id']}/fulfill"
    accepted = await api(ctx.http, "POST", fulfill, 202, timeout=300)
    cut = time.perf_counter() - t0
    order_url = f"/v2/giftcards/fulfillment-orders/{accepted['fulfillmentOrderId']}"
    cut_done = None
    while (order := await poll(ctx.http, order_url))["status"] == "PENDING":
        if cut_done is None and not order["cutting"]:
            cut_done = time.perf_counter() - t0
        if time.perf_counter() - t0 > 300 + n / 500:
            raise BenchError(f"order not submitted in {n / 500 + 300:.0f} s: {order.get('error')}")
        await asyncio.sleep(0.2)
    seconds = time.perf_counter() - t0
    how = f"POST fulfill (202 after {cut:.2f} s, {accepted['cardCount']} cards claimed) -> cut "
    how += f"done after {cut_done or 0:.1f} s ({order['boxCount']} boxes) -> order "
    how += f"{order['status']}: manifest of {order['cardCount']} rows written and submitted"
    out(f"fulfill_{name}", f"{seconds:.2f} s", how)
    rows, boxes = await manifest_boxes(order["manifestUrl"])
    fits = rows == n and len(boxes) == order["boxCount"] and max(boxes.values()) <= BOX_SIZE
    how = f"rows of the manifest, by boxNumber: {'ok' if fits else 'MISMATCH'}"
    out(f"manifest_{name}", f"{rows:,} rows in {len(boxes)} boxes of <= {max(boxes.values())}", how)
    if raw is not None:
        ratio = seconds / raw
        how = f"{target(ratio, '<=', FULFILL_TARGET)}; same database"
        out(f"fulfill_{name}/raw_update_many_{name}", f"{ratio:.2f}", how)
    if order["boxCount"] >= 2:
        await printer_box_event(ctx, accepted["fulfillmentOrderId"], name)


async def printer_box_event(ctx: Ctx, order_id: str, name: str) -> None:
    """The printer ships box 2 of the order: one signed POST /v2/fulfillment/events (its cards
    move, are counted on their batch, and the order records the box's tracking)."""
    event = {"eventId": secrets.token_hex(8), "orderId": order_id, "status": "SHIPPED"}
    body = json.dumps(event | {"boxNumber": 2, "trackingNumber": "1ZBENCH0002"}).encode()
    secret = ctx.env.get("VENDOR_SECRET", Settings.model_fields["vendor_secret"].default)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    t0 = time.perf_counter()
    done = await api(ctx.http, "POST", "/v2/fulfillment/events", 200, content=body,
                     headers=headers, timeout=120)  # fmt: skip
    seconds = time.perf_counter() - t0
    how = f"POST /v2/fulfillment/events SHIPPED boxNumber 2: {done['updatedCards']} cards moved"
    out(f"printer_box_event_{name}", f"{seconds:.2f} s", how)


async def fig_fulfill_after_big(ctx: Ctx) -> None:
    """5b. The fulfillment figure again once the big batches' cards are in the database (the
    embedded one slows as its cards collection grows)."""
    if ctx.args.quick or len(ctx.args.rss_sizes) < 2 or "rss" not in (ctx.args.only or FIGURES):
        return  # no big batch in this run: the first fulfillment figure is the only one
    if ctx.one_worker is None:
        raise BenchError("the big batch did not complete (the rss figure)")
    await fig_fulfill(ctx, after=f"_after_{label(ctx.args.rss_sizes[-1])}")


async def manifest_boxes(url: str) -> tuple[int, collections.Counter[str]]:
    """(rows, cards per box) of a manifest, streamed (a 1M-card one is ~250 MB)."""
    boxes: collections.Counter[str] = collections.Counter()
    column = None
    async with httpx.AsyncClient(timeout=300) as plain, plain.stream("GET", url) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if not line:
                continue
            cells = next(csv.reader([line]))
            if column is None:
                column = cells.index("boxNumber")
                continue
            boxes[cells[column]] += 1
    return sum(boxes.values()), boxes


async def small_batch_seconds(http: httpx.AsyncClient, bulk_url: str) -> float:
    """A 51-card queued batch (just over the sync threshold), polled every 50 ms."""
    t0 = time.perf_counter()
    body = {"initialValue": "1.00", "count": 51}
    task_id = (await api(http, "POST", bulk_url, 202, json=body))["taskId"]
    while time.perf_counter() - t0 < 120:
        task = await api(http, "GET", f"/v2/giftcards/tasks/{task_id}", 200)
        if task["status"] == "completed":
            return time.perf_counter() - t0
        if task["status"] == "failed":
            break
        await asyncio.sleep(0.05)
    raise BenchError(f"the 51-card task {task_id} did not complete")


async def fig_fairness(ctx: Ctx) -> None:
    """6. Another merchant's 51-card queued batch, alone and while a big batch runs."""
    big = max(ctx.args.count_async, 50_000 if ctx.args.quick else 200_000)
    cli = [sys.executable, "-m", "app.cli", "merchant", "create", "Corner Shop"]
    created = subprocess.run(
        cli, env=ctx.env, cwd=ctx.tmp / "api", capture_output=True, text=True, timeout=120
    )
    found = re.search(r"api key:\s+(\S+)", created.stdout)
    if found is None:
        raise BenchError(f"merchant create failed: {created.stderr[-300:]}")
    base = str(ctx.http.base_url)
    async with httpx.AsyncClient(base_url=base, timeout=60) as other:
        token = await api(other, "POST", "/v2/token", 200, json={"apiKey": found.group(1)})
        other.headers["Authorization"] = f"Bearer {token['accessToken']}"
        body = {"name": "Small", "currency": "USD"}
        program = await api(other, "POST", "/v2/giftcards/programs", 201, json=body)
        bulk_url = f"/v2/giftcards/programs/{program['id']}/cards/bulk"
        say(f"a 51-card batch alone, then during a {big:,}-card batch of another merchant")
        alone = await small_batch_seconds(other, bulk_url)
        body = {"initialValue": "1.00", "count": big}
        task_id = (await api(ctx.http, "POST", ctx.bulk, 202, json=body))["taskId"]
        task_url = f"/v2/giftcards/tasks/{task_id}"
        while (await api(ctx.http, "GET", task_url, 200))["issuedCount"] == 0:
            await asyncio.sleep(0.05)
        during = await small_batch_seconds(other, bulk_url)
        still = (await api(ctx.http, "GET", task_url, 200))["status"] == "running"
    out("fairness_51_alone_s", f"{alone:.2f}", "POST -> completed, polled every 50 ms")
    how = f"while {label(big)} cards of another merchant were being issued"
    how += "" if still else " (the big batch ended first: not a fair measure)"
    out("fairness_51_during_big_s", f"{during:.2f}", how)


async def bench(args: argparse.Namespace, env: dict[str, str], tmp: Path) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # asyncio.run already turns SIGINT into this
        asyncio.get_running_loop().add_signal_handler(sig, asyncio.current_task().cancel)
    port = devstack.free_port(HOST)
    base = f"http://{HOST}:{port}"
    say("starting the API")
    argv = [*devstack.api_argv(HOST, port), "--app-dir", str(ROOT)]
    healthy = lambda _: devstack.http_get_status(f"{base}/health") == 200  # noqa: E731
    api_proc = start_app(
        "api", argv, {**env, "API_PORT": str(port)}, tmp, healthy, "GET /health == 200"
    )
    worker = start_worker(env, tmp)
    cli = [sys.executable, "-m", "app.cli", "merchant", "create", "Bench Stores"]
    created = subprocess.run(
        cli, env=env, cwd=tmp / "api", capture_output=True, text=True, timeout=120, check=True
    )
    api_key = re.search(r"api key:\s+(\S+)", created.stdout).group(1)
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    # one raw update_many of 100,000 cards holds nx-27017 for over 20 s, the monitor's
    # default check timeout: the client would mark the server down and cancel the operation
    waits = {"serverSelectionTimeoutMS": 300_000, "connectTimeoutMS": 300_000}
    mongo = AsyncMongoClient(env["MONGODB_URL"], **waits)
    try:
        auth = TokenAuth(f"{base}/v2/token", api_key)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits, auth=auth) as http:
            body = {"name": "Bench", "currency": "USD"}
            program = await api(http, "POST", "/v2/giftcards/programs", 201, json=body)
            url = f"/v2/giftcards/programs/{program['id']}"
            ctx = Ctx(args, env, tmp, http, mongo[env["MONGODB_DB"]], url, worker, api_proc)
            ordered = args.count_fulfill or args.count_async
            for key, figure, name in (
                ("async", fig_async, f"async_{label(args.count_async)}"),
                ("inline", fig_inline, "inline_50"),
                ("fulfill", fig_fulfill, f"fulfill_{label(ordered)}"),
                ("rss", fig_rss, "worker_peak_rss"),
                ("scale", fig_scale, "async_2_workers"),
                ("poll", fig_poll, "poll_rps"),
                ("fulfill", fig_fulfill_after_big, "fulfill_after_big"),
                ("fairness", fig_fairness, "fairness_51_during_big_s"),
            ):
                if args.only and key not in args.only:
                    continue
                try:
                    await figure(ctx)
                except (BenchError, httpx.HTTPError) as exc:
                    out(name, "FAILED", f"{type(exc).__name__}: {exc}")
    finally:
        await mongo.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count-async", type=int, help="queued batch size (100000)")
    parser.add_argument(
        "--count-fulfill", type=int, help="cards in the fulfillment order (as --count-async)"
    )
    parser.add_argument("--skip-1m", action="store_true", help="no 1,000,000-card batch")
    parser.add_argument(
        "--no-raw-update",
        action="store_true",
        help="the fulfillment figure without its raw update_many baseline (for a 1M-card order, "
        "whose baseline alone takes ten minutes)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--10m",
        dest="ten_million",
        action="store_true",
        help="one 10,000,000-card batch (and a 100k one) on fresh workers: rate, RSS, CSV, polls",
    )
    parser.add_argument(
        "--only", nargs="+", choices=FIGURES, help="run just these figures (default: all)"
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the temp dir with every server's log"
    )
    args = parser.parse_args()
    args.count_async = args.count_async or (5_000 if args.quick else 100_000)
    args.requests, args.seconds = (20, 2.0) if args.quick else (200, 5.0)
    big = [] if args.skip_1m else [1_000_000]
    args.rss_sizes = [args.count_async] if args.quick else [100_000, *big]
    if args.ten_million:  # the raw insert baseline (async), then 100k and 10M on fresh workers
        args.rss_sizes, args.only = [100_000, 10_000_000], ["async", "rss"]
    for sig in (signal.SIGTERM, signal.SIGHUP):  # like Ctrl-C: finally blocks run
        signal.signal(sig, signal.default_int_handler)

    git = ["git", "-C", str(ROOT)]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "app", "workers"], capture_output=True)
    print(
        f"# giftcards bench {datetime.now(UTC):%Y-%m-%d %H:%M}Z on nproc={os.cpu_count()}, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}; git "
        f"{rev.stdout.strip()}{' + uncommitted app/ workers/ changes' if dirty.stdout else ''}\n"
        "# every figure below comes from this one run: nx-27017, redis-server, SeaweedFS on free"
        " ports, 1 API (uvicorn, 1 process), 1 arq worker, LOG_LEVEL=WARNING",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="giftcards-bench-"))
    code = 1
    try:
        asyncio.run(bench(args, start_services(tmp), tmp))
        code = 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        code = 130
    except (devstack.StackError, BenchError, httpx.HTTPError, subprocess.CalledProcessError) as exc:
        print(f"ERROR: {exc}\nlogs kept in {tmp}", file=sys.stderr)
    finally:
        devstack.stop_all()
        if code != 1 and not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        elif code != 1:
            print(f"logs kept in {tmp}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
