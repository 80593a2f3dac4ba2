"""Flow Service API throughput and latency against a live ``headwater serve``.

Measures, in one run and on one server: GET /connections/{id}, GET /connections?limit=20 and
POST /connections at N concurrent keep-alive clients, plus GET /health/live (no auth, no database)
as the baseline the others are compared with. Writes a section into docs/benchmarks.md.

    .venv/bin/python bench/api.py [--duration 10] [--concurrency 16] [--workers 2] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HEADWATER = str(Path(sys.executable).with_name("headwater"))
FS = "/data/foundation/flowservice"
HUBSPOT = "cc6a4487-9e91-433e-a3a3-9cf6626c1806"
BODY = {
    "name": "connection for HubSpot",
    "description": "connection for HubSpot",
    "auth": {
        "specName": "Basic Authentication",
        "params": {
            "clientId": "{CLIENT_ID}",
            "clientSecret": "{CLIENT_SECRET}",
            "accessToken": "{ACCESS_TOKEN}",
            "refreshToken": "{REFRESH_TOKEN}",
        },
    },
    "connectionSpec": {"id": HUBSPOT, "version": "1.0"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [HEADWATER, *args], env=env, check=True, capture_output=True, text=True
    ).stdout


async def _client(
    host: str, port: int, request: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - t0)
        if status >= 400:
            errors.append(status)
    writer.close()


def load(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    seconds: float,
    conc: int,
) -> dict[str, float]:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> float:
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(
            *[_client("127.0.0.1", port, request, deadline, latencies, errors) for _ in range(conc)]
        )
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    if errors:
        raise RuntimeError(f"{len(errors)} error responses, e.g. {errors[:3]}")
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
    }


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not m:
        raise ValueError(f"unparsable wrk latency {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def load_wrk(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    seconds: float,
    conc: int,
) -> dict[str, float]:
    """The same measurement with wrk (C, one thread): a load generator that leaves the server
    most of the machine, which a Python client on the same two cores does not."""
    cmd = ["wrk", "-t1", f"-c{conc}", f"-d{max(1, round(seconds))}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    script = None
    if method != "GET":
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        script.write(
            f"wrk.method = {json.dumps(method)}\n"
            f"wrk.body = {json.dumps(body.decode())}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        script.close()
        cmd += ["-s", script.name]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    if script is not None:
        Path(script.name).unlink()
    if "Non-2xx" in out:
        raise RuntimeError(f"error responses under load: {out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    # the "Latency Distribution" lines, not a "+/- Stdev" column that happens to end in 99%
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    return {"requests": total, "rps": rps, "p50_ms": p50, "p99_ms": p99}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk when installed (auto), else the built-in asyncio client",
    )
    args = ap.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    run_load = load_wrk if use_wrk else load
    client_label = "wrk (1 thread)" if use_wrk else "an asyncio load generator"

    home = Path(tempfile.mkdtemp(prefix="hw-bench-api-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_HOME"] = str(home)
    port = free_port()
    org = "BENCH0001@AdobeOrg"
    cli(env, "orgs", "create", org)
    client = json.loads(cli(env, "clients", "create", "--org", org, "--name", "bench", "--json"))
    token = cli(
        env, "token", "--client-id", client["clientId"], "--client-secret", client["clientSecret"]
    ).strip()
    with (home / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [HEADWATER, "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        h = {
            "Authorization": f"Bearer {token}",
            "x-api-key": client["clientId"],
            "x-gw-ims-org-id": org,
            "x-sandbox-name": "prod",
        }
        with httpx.Client(base_url=base, headers=h) as c:
            ids = [c.post(FS + "/connections", json=BODY).json()["id"] for _ in range(100)]
        body = json.dumps(BODY).encode()
        scenarios = [
            ("GET /health/live (baseline: no auth, no database)", "GET", "/health/live", b""),
            ("GET /connections/{id}", "GET", f"{FS}/connections/{ids[0]}", b""),
            ("GET /connections?limit=20", "GET", f"{FS}/connections?limit=20", b""),
            ("POST /connections", "POST", f"{FS}/connections", body),
        ]
        results = []
        for label, method, path, payload in scenarios:
            run_load(port, method, path, h, payload, args.warmup, args.concurrency)
            r = run_load(port, method, path, h, payload, args.duration, args.concurrency)
            results.append((label, r))
        baseline = results[0][1]["rps"]
        print(f"{'scenario':52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs baseline':>12}")
        rows = []
        for label, r in results:
            ratio = r["rps"] / baseline
            print(
                f"{label:52} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {ratio:11.2f}x"
            )
            rows.append(
                f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {ratio:.2f}x |"
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)

    if not args.no_write:
        cmd = "`.venv/bin/python bench/api.py " + " ".join(
            f"--{k.replace('_', '-')} {v}"
            for k, v in [
                ("duration", args.duration),
                ("concurrency", args.concurrency),
                ("workers", args.workers),
            ]
        )
        section = "\n".join(
            [
                "## Flow Service API (`bench/api.py`)",
                "",
                f"Command: {cmd}` — {platform.machine()}, {os.cpu_count()} cores, SQLite, "
                f"{args.workers} API worker process(es), {args.concurrency} concurrent keep-alive "
                f"clients ({client_label} on the same machine), {args.duration:.0f} s "
                f"per scenario after {args.warmup:.0f} s of warm-up. Run at "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
                "",
                "| scenario | req/s | p50 ms | p99 ms | vs baseline |",
                "|---|---:|---:|---:|---:|",
                *rows,
                "",
            ]
        )
        write_section(ROOT / "docs" / "benchmarks.md", "## Flow Service API", section)


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace (or append) the section that starts with ``heading`` up to the next ``## ``."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("" if end == -1 else text[end:])
    path.write_text(text.rstrip() + "\n")


if __name__ == "__main__":
    main()
