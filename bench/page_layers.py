"""What each page-caching layer gains (the second half of the `pages` stage of bench/run.py).

The layers are those of `campaign.lib.pages` (its docstring has the table). Four gunicorns run side by side on
the same database and Redis: one with every layer on, and one per layer with that layer off, started with the
bench switch PLUME_BENCH_PAGE_LAYERS_OFF (read once when pages.py is imported, so a layer that is on costs nothing;
each server keeps its cache entries apart). wrk GETs, from each server whose page goes through the layer:

- the case page, whose whole-page cache entry is keyed by the case's total;
- "check your inbox", where signing redirects, the same page for every signer of a case;
- an address with no case behind it, a 404, as a flood of bad addresses asks (only the shared case cache,
  which remembers that there is none, is on its path).

Meanwhile `bench.surge` moves the case's total every PETITION_ROLLUP_INTERVAL_SECONDS, as the rollup does in a
surge, so the case page is rendered anew after each tick, as it is then. (A fourth layer, the case page's panels
cached apart, was measured so and removed: it saved nothing measurable.)

The machine is shared and its speed moves from one second to the next, so what a layer gains is read from pairs
of windows side by side (BENCH_PAGE_SECONDS each): the server with every layer on, then the one with that layer
off, in turn first, BENCH_PAGE_ROUNDS times. The median of the pairs leaves out a pair that another process
spoiled; the least and the most say how far the pairs spread. Before each window, a second of unmeasured load lets
the server render what the ticks it missed while idle changed, so each window only renders what a server under
constant load would.
"""

from __future__ import annotations

import os
import statistics

from bench.harness import PYTHON, Bench, Wrk, free_port

# The layer turned off, as PLUME_BENCH_PAGE_LAYERS_OFF names it ("" for every layer on).
LAYERS = ("", "process", "shared", "page")
# (file name, what the report calls it, the layers on its path)
PAGES = (
    ("case", "case page", LAYERS),
    ("thanks", "check your inbox", LAYERS),
    ("unknown", "unknown case (404)", ("", "shared")),
)
# What serves a page, whose CPU counts against it: the server measured, the bench database's backends and Redis
# (shared with the machine's other work, but the round trips a layer saves are spent there). wrk is left out, and
# so are PostgreSQL's background processes, which serve every database of the machine.
SERVING = ("web", "postgres", "redis (shared)")


def page_layers(bench: Bench, site) -> None:
    """Writes page_layers.json: one entry per window (page, server, round, and the layer its pair is about)."""
    config = bench.config
    paths = {"case": site.case_path, "thanks": site.thanks_path, "unknown": site.unknown_path}
    interval = float(os.environ.get("PETITION_ROLLUP_INTERVAL_SECONDS") or 5)
    bench.start("surge", [PYTHON, "-m", "bench.surge", str(site.case_id), str(interval)])
    servers = {}
    for off in LAYERS:
        label = off or "all"
        port = free_port()
        bench.start_web(f"web_{label}", port, env={"PLUME_BENCH_PAGE_LAYERS_OFF": off}, cpu_group=f"web {label}")
        servers[off] = (label, f"http://127.0.0.1:{port}")
    # Every worker's first requests load templates and translations: not part of what a layer gains.
    for page, _, layers in PAGES:
        for off in layers:
            label, base = servers[off]
            Wrk(bench, f"layers/warm-up/{label}-{page}", "get.lua", 2, base, {"BENCH_PATH": paths[page]}).wait()
    runs = []
    for round_number in range(1, config.page_rounds + 1):
        for page, _, layers in PAGES:
            for layer in layers[1:]:
                # A pair of windows side by side: every layer on, and this layer off (in turn first).
                pair = ("", layer) if round_number % 2 else (layer, "")
                for off in pair:
                    label, base = servers[off]
                    name = f"layers/{round_number}/{page}-{layer}-{label}"
                    Wrk(bench, f"{name}-catch-up", "get.lua", 1, base, {"BENCH_PATH": paths[page]}).wait()
                    result, spent = bench.wrk(name, "get.lua", config.page_seconds, base, BENCH_PATH=paths[page])
                    spent["web"] = spent.pop(f"web {label}", 0.0)
                    runs.append(
                        {"off": off, "pair": layer, "round": round_number, "page": page, "wrk": result, "cpu_s": spent}
                    )
    for off in LAYERS:
        bench.stop(f"web_{servers[off][0]}")
    bench.stop("surge")
    bench.write_json(
        "page_layers",
        {"seconds": config.page_seconds, "rounds": config.page_rounds, "total_moves_every_s": interval, "runs": runs},
    )


def _measured(run: dict) -> dict | None:
    wrk = run["wrk"]
    if not wrk or not wrk["requests"]:
        return None
    spent = run["cpu_s"]
    return {
        "rps": wrk["rps"],
        "p99_ms": wrk["p99_ms"],
        "web_cpu_ms": 1000 * spent.get("web", 0) / wrk["requests"],
        "cpu_ms": 1000 * sum(spent.get(group, 0) for group in SERVING) / wrk["requests"],
        "statuses": wrk["statuses"],
    }


def summarise(data: dict) -> dict:
    """Per page and server (by the layer it has off, "" for none): the medians over its windows of pages/s, p99
    and CPU ms a page (the server alone, and everything that serves it); and for each layer, over the rounds, what
    it gains in each pair of windows: the rate with every layer on over the rate without it, and the CPU ms a page
    without it minus with every layer on (median, least and most)."""
    out: dict = {}
    windows: dict = {}  # (page, off) -> measurements
    pairs: dict = {}  # (page, layer, round) -> {off: measurement}
    for run in data["runs"]:
        measured = _measured(run)
        if measured is None:
            continue
        windows.setdefault((run["page"], run["off"]), []).append(measured)
        pairs.setdefault((run["page"], run.get("pair", run["off"]), run["round"]), {})[run["off"]] = measured
    for (page, off), found in windows.items():
        statuses: dict[str, int] = {}
        for m in found:
            for status, n in m["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        entry = {key: statistics.median(m[key] for m in found) for key in ("rps", "p99_ms", "web_cpu_ms", "cpu_ms")}
        out.setdefault(page, {})[off] = {**entry, "statuses": statuses}
    gains: dict = {}
    for (page, layer, _), pair in pairs.items():
        if "" in pair and layer in pair:
            on, off = pair[""], pair[layer]
            gain = gains.setdefault((page, layer), {"rate": [], "web_cpu_ms": [], "cpu_ms": []})
            gain["rate"].append(on["rps"] / off["rps"])
            gain["web_cpu_ms"].append(off["web_cpu_ms"] - on["web_cpu_ms"])
            gain["cpu_ms"].append(off["cpu_ms"] - on["cpu_ms"])
    for (page, layer), gain in gains.items():
        out[page][layer]["gain"] = {
            key: {"median": statistics.median(values), "least": min(values), "most": max(values)}
            for key, values in gain.items()
        }
    return out
