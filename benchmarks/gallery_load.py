"""A bounded loopback load test of the live gallery (``python -m keras_gans.gallery serve``, the
real CLI under uvicorn, in its own process): requests/s, p50 and p99 latency and the status
codes for

* cached pages: the static site (pages, thumbnails, CSS/JS) at ``--clients`` concurrent clients;
* live generation at 64x64 and 256x256, within the queue (``--queue`` clients, every request a
  new seed so nothing comes from the cache);
* overfilling the queue: ``--clients`` clients painting at once; the excess must be answered
  503 with Retry-After, and every request must get an answer.

    python benchmarks/gallery_load.py --seconds 20 --out runs/gallery-load

Without ``--run`` it trains two runs of the default StyleGAN preset for one step (at 64 and at
256 pixels) on random images: what a painting costs does not depend on how trained the weights
are. The load client runs on the same machine as the server (loopback), so on a 2-core machine
both share the CPU: read the figures as a floor.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run64", help="a run folder at 64x64 (default: a one-step run made here)")
    parser.add_argument("--run256", help="a run folder at 256x256 (default: a one-step run made here)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--queue", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--out", default="runs/gallery-load")
    return parser.parse_args(argv)


def one_step_run(out: Path, resolution: int) -> Path:
    """A real run folder (config, checkpoint, generator.keras) after one training step."""
    import numpy as np
    from PIL import Image

    run = out / f"load-{resolution}"
    if (run / "generator.keras").is_file():
        return run
    data = out / f"noise-{resolution}"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(16):  # one batch of the preset
        Image.fromarray(rng.integers(0, 255, (resolution, resolution, 3), dtype=np.uint8)).save(data / f"{index}.png")
    command = [sys.executable, "-m", "keras_gans.train", "--data", str(data), "--out", str(run), "--resolution", str(resolution),
               "--kimg", "0.016", "--no-progress", "--set", "steps_per_execution=1"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "KERAS_GANS_CACHE": str(out / "cache")})
    return run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values, q):
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


async def _request(connection, host: str, path: str):
    """One GET on a kept-alive connection: (status, headers). A raw HTTP/1.1 client, so that the
    load generator costs the shared CPU far less than the server it measures."""
    reader, writer = connection
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", 0)))
    return status, headers


async def phase(base: str, clients: int, seconds: float, next_path) -> dict:
    """``clients`` loops, each on its own kept-alive connection, sending requests back to back for
    ``seconds``; every request's status and latency are recorded, and a request that got no
    answer (a dropped connection, a timeout) is counted as lost."""
    host, port = base.split("//")[1].split(":")
    latencies, statuses, lost, retry_after_missing = [], {}, 0, 0
    deadline = time.perf_counter() + seconds

    async def client_loop():
        nonlocal lost, retry_after_missing
        connection = None
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = await asyncio.open_connection(host, int(port))
                status, headers = await asyncio.wait_for(_request(connection, host, next_path()), timeout=120)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError):
                lost += 1
                if connection is not None:
                    connection[1].close()
                connection = None
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status in (429, 503) and "retry-after" not in headers:
                retry_after_missing += 1
        if connection is not None:
            connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ms = [1000 * value for value in latencies]
    return {
        "clients": clients, "seconds": round(elapsed, 2), "requests": len(latencies) + lost,
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "ok_per_second": round(statuses.get(200, 0) / elapsed, 2),
        "p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())}, "lost": lost,
        "retry_after_missing": retry_after_missing,
        "server_errors_other_than_503": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
    }


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print("making the runs ...", flush=True)
    run64 = Path(args.run64) if args.run64 else one_step_run(out, 64)
    run256 = Path(args.run256) if args.run256 else one_step_run(out, 256)
    site = out / "site"
    subprocess.run([sys.executable, "-m", "keras_gans.gallery", "build", "--run", str(run64), "--run", str(run256),
                    "--out", str(site), "--per-room", "24"], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "keras_gans.gallery", "serve", "--site", str(site), "--run", str(run64), "--run", str(run256),
         "--port", str(port), "--queue", str(args.queue), "--rate-limit", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("the gallery server did not start:\n" + (server.stdout.read() if server.stdout else ""))
            time.sleep(0.5)
        names = {64: Path(run64).resolve().name, 256: Path(run256).resolve().name}
        pages = ["/index.html", f"/{names[64]}/index.html", f"/{names[64]}/room-paintings.html",
                 f"/{names[64]}/about.html", "/assets/gallery.css", "/assets/gallery.js"]
        pages += [f"/{names[64]}/paintings/paintings/seed{seed:06d}-psi0.70.webp" for seed in range(24)]
        counter = {"page": 0, "seed": 10_000}

        def next_page():
            counter["page"] += 1
            return pages[counter["page"] % len(pages)]

        def painting(resolution):
            def next_painting():
                counter["seed"] += 1  # never the same seed twice: nothing is served from the cache
                return f"/api/paint?run={names[resolution]}&seed={counter['seed']}&psi=0.7&format=webp"
            return next_painting

        phases = [
            ("cached pages", args.clients, next_page),
            ("live 64x64, within the queue", args.queue, painting(64)),
            ("live 256x256, within the queue", args.queue, painting(256)),
            ("live 64x64, queue overfilled", args.clients, painting(64)),
            ("live 256x256, queue overfilled", args.clients, painting(256)),
        ]
        results = {"command": "python benchmarks/gallery_load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                   "cpu_count": os.cpu_count(), "queue": args.queue, "phases": {}}
        for name, clients, next_path in phases:
            print(f"phase: {name} ({clients} clients, {args.seconds:g} s) ...", flush=True)
            results["phases"][name] = asyncio.run(phase(base, clients, args.seconds, next_path))
            time.sleep(2)  # let the painters drain the queue before the next phase
            print("   ", json.dumps(results["phases"][name]), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    from keras_gans.io import write_json_atomic

    write_json_atomic(out / "gallery_load.json", results)
    print("\n| phase | clients | requests/s | 200/s | p50 ms | p99 ms | statuses | lost | 5xx other than 503 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in results["phases"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in row["statuses"].items())
        print(f"| {name} | {row['clients']} | {row['requests_per_second']} | {row['ok_per_second']} | {row['p50_ms']} | "
              f"{row['p99_ms']} | {statuses} | {row['lost']} | {row['server_errors_other_than_503']} |")
    print(f"\nwrote {out / 'gallery_load.json'}")
    return results


if __name__ == "__main__":
    main()
