"""Benchmark: the HubSpot emulator must never be the bottleneck.

Measures, in one run:

1. startup of a 1,000,000-contact portal through the real CLI (``headwater emulator hubspot``):
   wall time until the ready line, the portal build time it reports, and the server's RSS;
2. list throughput: contacts with 10 properties, 100 per page, over keep-alive HTTP/1.1
   connections, from one emulator process with rate limits off (one client connection, then
   several client processes in parallel);
3. server time alone: the ASGI app called in-process for the same pages (no sockets, no client),
   against the same loop calling a static ASGI app;
4. a baseline measured the same way in the same run: the same client loop against a minimal ASGI
   app on the same uvicorn stack that returns one pre-encoded 100-record page. The ratio
   emulator/baseline is the share of the transport-and-client ceiling the emulator reaches.

Usage: ``.venv/bin/python bench/emulator.py [--contacts 1000000] [--pages 600] [--workers 2] [--json]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

PROPS = "email,firstname,lastname,phone,company,city,country,jobtitle,lifecyclestage,hs_lead_status"
ROOT = Path(__file__).resolve().parent.parent
HEADWATER = ROOT / ".venv" / "bin" / "headwater"

BASELINE_APP = r"""
import sys, json, asyncio, socket
import uvicorn, uvloop
body = open(sys.argv[1], "rb").read()
# the same page every time; paging points at the next offset so the client loop is identical
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json;charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0)); sock.listen(2048)
print(json.dumps({"base_url": f"http://127.0.0.1:{sock.getsockname()[1]}"}), flush=True)
config = uvicorn.Config(app, http="httptools", loop="uvloop", lifespan="off", log_level="warning",
                        access_log=False, server_header=False, date_header=False)
with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
    r.run(uvicorn.Server(config).serve(sockets=[sock]))
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(cmd: list[str]) -> tuple[subprocess.Popen[str], dict[str, object], float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    if not line:
        proc.kill()
        raise RuntimeError(f"{cmd[0]} did not start")
    return proc, json.loads(line), elapsed


def read_pages(base_url: str, token: str, first_after: int, pages: int) -> tuple[int, float]:
    """Follow ``paging.next.after`` for ``pages`` pages on one keep-alive connection."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"Authorization": f"Bearer {token}"}
    after = first_after
    records = 0
    t0 = time.perf_counter()
    for _ in range(pages):
        conn.request(
            "GET",
            f"/crm/v3/objects/contacts?limit=100&properties={PROPS}&after={after}",
            headers=headers,
        )
        resp = conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {data}")
        records += len(data["results"])
        nxt = data.get("paging")
        if nxt is None:
            break
        after = int(nxt["next"]["after"])
    elapsed = time.perf_counter() - t0
    conn.close()
    return records, elapsed


def _worker(args: tuple[str, str, int, int]) -> tuple[int, float]:
    return read_pages(*args)


def parallel(base_url: str, token: str, workers: int, pages: int, stride: int) -> float:
    jobs = [(base_url, token, 1 + i * stride, pages) for i in range(workers)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        t0 = time.perf_counter()
        results = pool.map(_worker, jobs)
        wall = time.perf_counter() - t0
    return sum(r for r, _ in results) / wall


def in_process(contacts: int, pages: int) -> tuple[float, float]:
    """Records/s of the emulator's ASGI app called directly, and of a static app (same loop)."""
    import asyncio

    from headwater.emulator.hubspot import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(contacts=contacts))
    token = app.state.auth.private_app_token
    sent: list[bytes] = []

    async def static(_scope: dict[str, object], _receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": sent[0]})  # type: ignore[operator]

    async def run(target: object, first_after: int) -> float:
        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body" and not sent:
                sent.append(message["body"])  # type: ignore[arg-type]

        t0 = time.perf_counter()
        for i in range(pages):
            qs = f"limit=100&properties={PROPS}&after={first_after + i * 100}".encode()
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/crm/v3/objects/contacts",
                "query_string": qs,
                "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"bench")],
                "scheme": "http",
                "server": ("bench", 80),
            }
            await target(scope, receive, send)  # type: ignore[operator]
        return pages * 100 / (time.perf_counter() - t0)

    emulator = asyncio.run(run(app, 1))
    baseline = asyncio.run(run(static, 1))
    return emulator, baseline


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--pages", type=int, default=600, help="pages per client connection")
    ap.add_argument("--workers", type=int, default=2, help="client processes for the parallel run")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--startup-sizes",
        default="",
        help="only measure startup and RSS, e.g. 100000,1000000,5000000",
    )
    args = ap.parse_args()
    if args.startup_sizes:
        for n in (int(x) for x in args.startup_sizes.split(",")):
            proc, info, ready = start(
                [
                    str(HEADWATER),
                    "emulator",
                    "hubspot",
                    "--port",
                    "0",
                    "--json",
                    "--contacts",
                    str(n),
                ]
            )
            rss = rss_mb(proc.pid)
            proc.terminate()
            proc.wait(timeout=10)
            print(
                f"  {n:>10,} contacts: ready in {ready:.2f} s, portal built in {info['startup_seconds']} s, RSS {rss:.0f} MB"
            )
        return

    emu, info, ready_s = start(
        [
            str(HEADWATER),
            "emulator",
            "hubspot",
            "--port",
            "0",
            "--json",
            "--rate-limit",
            "none",
            "--contacts",
            str(args.contacts),
        ]
    )
    base_url, token = str(info["base_url"]), str(info["private_app_token"])
    rss_start = rss_mb(emu.pid)
    try:
        # warm-up, and one page saved as the baseline's static body
        conn = http.client.HTTPConnection(*base_url.removeprefix("http://").split(":"))
        conn.request(
            "GET",
            f"/crm/v3/objects/contacts?limit=100&properties={PROPS}",
            headers={"Authorization": f"Bearer {token}"},
        )
        page = conn.getresponse().read()
        conn.close()
        read_pages(base_url, token, 1, 50)
        single_n, single_s = read_pages(
            base_url, token, 200_000 % max(args.contacts, 1) or 1, args.pages
        )
        multi = parallel(
            base_url, token, args.workers, args.pages, max(args.contacts // max(args.workers, 1), 1)
        )
        rss_end = rss_mb(emu.pid)
    finally:
        emu.terminate()
        emu.wait(timeout=10)

    body_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"hw-bench-page-{os.getpid()}.json"
    body_file.write_bytes(page)
    base, base_info, _ = start([sys.executable, "-c", BASELINE_APP, str(body_file)])
    try:
        base_url_b = str(base_info["base_url"])
        read_pages(base_url_b, "x", 1, 50)
        b_n, b_s = read_pages(base_url_b, "x", 1, args.pages)
        b_multi = parallel(base_url_b, "x", args.workers, args.pages, 100)
    finally:
        base.terminate()
        base.wait(timeout=10)
        body_file.unlink()

    ip, ip_base = in_process(min(args.contacts, 200_000), args.pages)
    single = single_n / single_s
    baseline = b_n / b_s
    result = {
        "contacts": args.contacts,
        "startup_ready_s": round(ready_s, 2),
        "startup_build_s": info.get("startup_seconds"),
        "rss_after_start_mb": round(rss_start, 1),
        "rss_after_bench_mb": round(rss_end, 1),
        "single_connection_records_per_s": round(single),
        "baseline_single_connection_records_per_s": round(baseline),
        "single_ratio_vs_baseline": round(single / baseline, 2),
        "parallel_workers": args.workers,
        "parallel_records_per_s": round(multi),
        "baseline_parallel_records_per_s": round(b_multi),
        "parallel_ratio_vs_baseline": round(multi / b_multi, 2),
        "in_process_records_per_s": round(ip),
        "in_process_server_ms_per_page": round(100_000 / ip, 3),
        "baseline_in_process_records_per_s": round(ip_base),
        "page_bytes": len(page),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"HubSpot emulator benchmark ({args.contacts:,} contacts, 10 properties, 100 per page)")
    print(
        f"  startup: ready in {ready_s:.2f} s (portal built in {info.get('startup_seconds')} s), RSS {rss_start:.0f} MB -> {rss_end:.0f} MB after the run"
    )
    print(
        f"  in-process   : {ip:>9,.0f} records/s   static app {ip_base:>9,.0f}   ({100_000 / ip:.2f} ms of server time per page)"
    )
    print(
        f"  1 connection : {single:>9,.0f} records/s   baseline {baseline:>9,.0f}   ratio {single / baseline:.2f}"
    )
    print(
        f"  {args.workers} connections: {multi:>9,.0f} records/s   baseline {b_multi:>9,.0f}   ratio {multi / b_multi:.2f}"
    )


if __name__ == "__main__":
    main()
