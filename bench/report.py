"""The summary of one bench run as Markdown, from the JSON files it left in its results folder.

    python -m bench.report bench/results/<run>    # bench/run.py prints it at the end of a run

Each figure stands next to the baseline measured in the same run, with the project's target beside it.
Missing files (a stage that was skipped or failed) show as "not measured".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from bench.page_layers import PAGES, summarise


def load(run: Path, name: str) -> dict | None:
    path = run / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def ok_responses(result: dict) -> int:
    """Responses a browser would count as success: 2xx, and 3xx (the sign view redirects after a POST)."""
    return sum(n for code, n in result.get("statuses", {}).items() if 200 <= int(code) < 400)


def verdict(passed: bool) -> str:
    return "met" if passed else "**not met**"


def http_table(rows: list[tuple[str, dict | None]]) -> list[str]:
    lines = [
        "| path | requests | req/s | p50 ms | p99 ms | max ms | statuses | socket errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for label, r in rows:
        if r is None:
            lines.append(f"| {label} | not measured | | | | | | |")
            continue
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(r["statuses"].items())) or "none"
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items() if v) or "none"
        lines.append(
            f"| {label} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['max_ms']:.1f} | {statuses} | {errors} |"
        )
    return lines


def parse_pgbench(text: str) -> dict:
    tps = re.search(r"tps = ([0-9.]+)", text)
    latency = re.search(r"latency average = ([0-9.]+) ms", text)
    return {
        "tps": float(tps.group(1)) if tps else None,
        "latency_ms": float(latency.group(1)) if latency else None,
    }


# A page that queried the database would cause a transaction a request (1,000 per 1,000); the totals' refresh
# every TOTALS_CACHE_SECONDS, the gunicorn workers' first requests and autovacuum cause a handful a run. Fewer than
# one transaction per 100 requests is "no database query".
NO_QUERY_PER_K = 10


def cpu_ms_per_request(result: dict | None, spent: dict | None) -> float | None:
    """CPU milliseconds a request, every process of the platform but wrk: a ratio of two of these, from the same
    run, holds better than a ratio of rates when the machine's other work takes a varying share of its cores."""
    if not result or not spent or not result["requests"]:
        return None
    return 1000 * sum(s for group, s in spent.items() if group != "wrk") / result["requests"]


def per_hour(journey: dict) -> float:
    return 3600 * journey["counted"] / journey["total_s"] if journey.get("total_s") else 0.0


def targets_section(run: Path) -> list[str]:
    """Every target of the issues (#3, #5; #15's, still open, marked so) next to this run's figure."""
    baseline, sign = load(run, "baseline"), load(run, "sign")
    base_cpu = cpu_ms_per_request(baseline, load(run, "baseline.cpu"))
    rows: list[tuple[str, str, str, str, bool | None]] = []  # path, target, figure, ratio, met
    if baseline and sign and baseline["rps"]:
        ratio = sign["rps"] / baseline["rps"]
        against = f"{ratio:.2f} x the bare insert ({baseline['rps']:,.0f}/s)"
        sign_cpu = cpu_ms_per_request(sign, load(run, "sign.cpu"))
        if base_cpu and sign_cpu:
            against += f"; by CPU a request, {base_cpu / sign_cpu:.2f} x ({sign_cpu:.2f} ms against {base_cpu:.2f})"
        rows += [
            (
                "signing",
                "at least 0.4 x the bare insert (#3)",
                f"{sign['rps']:,.0f} signatures/s",
                against,
                ratio >= 0.4,
            ),
            ("signing", "at least 500 signatures/s (#3)", f"{sign['rps']:,.0f}/s", against, sign["rps"] >= 500),
            ("signing", "p99 under 100 ms (#3)", f"{sign['p99_ms']:.1f} ms", "", sign["p99_ms"] < 100),
            ("signing", "at least 0.6 x the bare insert (#15, open)", f"{sign['rps']:,.0f}/s", against, ratio >= 0.6),
            ("signing", "p99 under 50 ms (#15, open)", f"{sign['p99_ms']:.1f} ms", "", sign["p99_ms"] < 50),
        ]
    for name, label in (
        ("e2e", "end to end, overlapping as in a surge"),
        ("e2e_stages", "end to end, one stage after another"),
    ):
        journey = load(run, name)
        if not journey:
            continue
        hourly = per_hour(journey)
        ratio = f"{hourly / (3600 * baseline['rps']):.2f} x the bare inserts an hour" if baseline else ""
        journey_cpu = 1000 * sum(journey["cpu_s"].values()) / max(journey["counted"], 1)
        if base_cpu:
            ratio += f"; by CPU a signature, {base_cpu / journey_cpu:.2f} x ({journey_cpu:.2f} ms)"
        rows.append((label, "at least 1,000,000 signatures/h (#3)", f"{hourly:,.0f}/h", ratio, hourly >= 1_000_000))
        if baseline:
            share = hourly / (3600 * baseline["rps"])
            rows.append(
                (
                    label,
                    "at least 0.35 x the bare inserts an hour (#15, open)",
                    f"{hourly:,.0f}/h",
                    ratio,
                    share >= 0.35,
                )
            )
    case_page = load(run, "case_page")
    before, mid, after = (load(run, n) for n in ("db_before_case_page", "db_after_case_page", "db_after_totals_json"))
    layers = load(run, "page_layers")
    uncached = summarise(layers).get("case", {}) if layers else {}
    if case_page and before and mid:
        per_k = 1000 * (mid["xact_commit"] - before["xact_commit"] - 3) / max(case_page["requests"], 1)
        ratio = ""
        if "gain" in uncached.get("page", {}):
            ratio = f"{uncached['page']['gain']['rate']['median']:.1f} x the page rendered each time"
        figure = f"{case_page['rps']:,.0f} pages/s, {per_k:.1f} transactions per 1,000"
        rows.append(("case page, warm cache", "no database query (#3)", figure, ratio, per_k < NO_QUERY_PER_K))
    totals_json = load(run, "totals_json")
    if totals_json and mid and after:
        per_k = 1000 * (after["xact_commit"] - mid["xact_commit"] - 3) / max(totals_json["requests"], 1)
        figure = f"{totals_json['rps']:,.0f}/s, {per_k:.1f} transactions per 1,000"
        rows.append(("JSON totals, warm cache", "no database query (#3)", figure, "", per_k < NO_QUERY_PER_K))
    export = load(run, "export")
    for e in export["exports"] if export else []:
        small, big = e["runs"][0], e["runs"][-1]
        flat = big["peak_rss_mib"] <= small["peak_rss_mib"] + 10
        path = f"export: {e['name']}, {big['exported_rows']:,} rows"
        ratio = f"{big['ratio']:.2f} x psql's \\copy"
        rows.append(
            (
                path,
                "at least 0.5 x psql's \\copy (#5)",
                f"{big['export_rows_per_s']:,.0f} rows/s",
                ratio,
                big["ratio"] >= 0.5,
            )
        )
        memory = f"{small['peak_rss_mib']:.0f} and {big['peak_rss_mib']:.0f} MiB"
        rows.append((path, "memory flat from a tenth of the rows (#5)", memory, "", flat))
    if not rows:
        return []
    lines = [
        "### Against the targets",
        "",
        "| path | target | figure | against its baseline, same run | |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {path} | {target} | {figure} | {ratio} | {verdict(met)} |" for path, target, figure, ratio, met in rows
    ]
    return [*lines, ""]


def layers_section(run: Path) -> list[str]:
    data = load(run, "page_layers")
    if not data:
        return []
    measured = summarise(data)
    lines = [
        "### Page caching: what each layer gains",
        "",
        f"Gunicorns side by side: every layer of `campaign.lib.pages` on, and each layer off in turn "
        f"(PLUME_BENCH_PAGE_LAYERS_OFF); the case's total moved every {data['total_moves_every_s']:g} s "
        f"(bench/surge.py, as the rollup in a surge). Each layer is read from {data['rounds']} pair(s) of windows of "
        f"{data['seconds']} s side by side, every layer on and this layer off, on each page whose path goes through "
        "it. CPU ms a page: the server alone, then all that serves it (the server, the bench database's backends, "
        "Redis), medians of the windows. The layer gains: the rate with every layer on over the rate without it, and "
        "the server's CPU ms a page without it minus with every layer on; the median of the pairs, then the least "
        "and the most.",
        "",
        "| page | layer off | pages/s | p99 ms | CPU ms a page: server, all | the layer gains: pages/s "
        "| server CPU ms a page: median (least to most) | statuses |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for page, label, layers_on_path in PAGES:
        layers = measured.get(page, {})
        for off in layers_on_path:
            entry = layers.get(off)
            if entry is None:
                continue
            statuses = ", ".join(f"{c}: {n}" for c, n in sorted(entry["statuses"].items()))
            gain = saved = ""
            if "gain" in entry:
                rate, cpu = entry["gain"]["rate"], entry["gain"]["web_cpu_ms"]
                gain = f"{rate['median']:.2f} x"
                saved = f"{cpu['median']:.2f} ({cpu['least']:.2f} to {cpu['most']:.2f})"
            lines.append(
                f"| {label} | {off or 'none (every layer on)'} | {entry['rps']:,.0f} | {entry['p99_ms']:.1f} "
                f"| {entry['web_cpu_ms']:.2f}, {entry['cpu_ms']:.2f} | {gain} | {saved} | {statuses} |"
            )
    return [*lines, ""]


def cache_section(run: Path) -> list[str]:
    case_page, totals_json = load(run, "case_page"), load(run, "totals_json")
    before, mid, after = (load(run, n) for n in ("db_before_case_page", "db_after_case_page", "db_after_totals_json"))
    lines = ["### Case page and JSON totals (warm cache)", ""]
    lines += http_table([("case page", case_page), ("/api/totals", totals_json)])
    lines.append("")
    if before and mid and after:
        lines += [
            "| path | database transactions during the run | per 1,000 requests | rows read |",
            "| --- | ---: | ---: | ---: |",
        ]
        # bench/run.py's own readings are transactions too: the statistics reading that opens the window and
        # the two CPU readings around wrk (bench/cpu.py).
        for label, r, a, b in (("case page", case_page, before, mid), ("/api/totals", totals_json, mid, after)):
            xact = b["xact_commit"] - a["xact_commit"] - 3
            rows = (b["tup_returned"] - a["tup_returned"]) + (b["tup_fetched"] - a["tup_fetched"])
            per_k = 1000 * xact / r["requests"] if r and r["requests"] else float("nan")
            lines.append(f"| {label} | {xact} | {per_k:.2f} | {rows} |")
        lines += [
            "",
            "No worker or beat runs during these two measurements, so every transaction counted comes from the",
            "web processes. The totals are cached for TOTALS_CACHE_SECONDS (10 s), so a few recomputations per",
            "run are expected; anything close to one per request means the page queries the database itself.",
        ]
    return [*lines, ""]


def signing_section(run: Path) -> list[str]:
    baseline, sign = load(run, "baseline"), load(run, "sign")
    lines = ["### Signing against the baseline (a bare view inserting one row)", ""]
    lines += http_table([("baseline: bare insert", baseline), ("petition sign view", sign)])
    lines.append("")
    pgbench = load(run, "pgbench")
    if pgbench and pgbench.get("tps"):
        lines.append(
            f"For reference, PostgreSQL alone (pgbench, the baseline's INSERT, one transaction each, as many "
            f"clients as gunicorn workers): {pgbench['tps']:.0f} inserts/s, {pgbench['latency_ms']:.1f} ms average."
        )
        lines.append("")
    rows = load(run, "sign_rows")
    if rows:
        lines.append(
            f"Rows stored by the sign run: {rows.get('stored', '?')} "
            f"(of which flagged as suspicious: {rows.get('flagged', '?')}; "
            f"successful responses: {ok_responses(sign) if sign else '?'})."
        )
        if "unmailed_at_end" in rows:
            lines.append(
                f"When the load stopped, {rows['unmailed_at_end']} of them were still waiting for their "
                f"confirmation mail; the worker had sent them all {rows['mail_caught_up_s']} s later."
            )
        lines.append("")
    if baseline and sign:
        ratio = sign["rps"] / baseline["rps"] if baseline["rps"] else 0.0
        lines += [
            "| target | reached | |",
            "| --- | --- | --- |",
            f"| signing >= 0.4 x baseline | {ratio:.2f} x | {verdict(ratio >= 0.4)} |",
            f"| >= 500 signatures/s | {sign['rps']:.0f}/s | {verdict(sign['rps'] >= 500)} |",
            f"| p99 < 100 ms | {sign['p99_ms']:.1f} ms | {verdict(sign['p99_ms'] < 100)} |",
        ]
        bad = sum(n for code, n in sign["statuses"].items() if int(code) >= 400)
        if bad:
            lines.append(f"\n**{bad} sign responses were errors (4xx/5xx): the rate above counts them.**")
    return [*lines, ""]


def e2e_section(run: Path) -> list[str]:
    overlap, stages, baseline = load(run, "e2e"), load(run, "e2e_stages"), load(run, "baseline")
    lines = ["### End to end: signed, mailed, confirmed, counted", ""]
    journeys = [
        (label, j) for label, j in (("overlapping, as in a surge", overlap), ("one stage after another", stages)) if j
    ]
    if not journeys:
        return [*lines, "Not measured.", ""]

    def cell(seconds: float | None) -> str:
        return "not reached" if seconds is None else f"{seconds:.1f}"

    lines += [
        "Seconds from the first signature until all of them were:",
        "",
        "| | " + " | ".join(label for label, _ in journeys) + " |",
        "| --- |" + " ---: |" * len(journeys),
    ]
    for label, key in (
        ("signed (wrk through the sign view)", "signed_s"),
        ("mailed (in the SMTP sink)", "mailed_s"),
        ("confirmed (wrk POSTs each mail's link)", "clicked_s"),
        ("counted in the ledger", "total_s"),
    ):
        lines.append(f"| {label} | " + " | ".join(cell(j[key]) for _, j in journeys) + " |")
    lines.append(
        "| signatures counted, of those stored | "
        + " | ".join(f"{j['counted']} of {j['signatures']}" for _, j in journeys)
        + " |"
    )
    lines.append(
        "| confirmation clicks: rounds, statuses | "
        + " | ".join(
            f"{j['click_rounds']}, "
            + (", ".join(f"{c}: {n}" for c, n in sorted(j["click_statuses"].items())) or "none")
            for _, j in journeys
        )
        + " |"
    )
    lines.append("| **signatures per hour** | " + " | ".join(f"**{per_hour(j):,.0f}**" for _, j in journeys) + " |")
    lines.append(
        "| target >= 1,000,000 per hour | " + " | ".join(verdict(per_hour(j) >= 1_000_000) for _, j in journeys) + " |"
    )
    lines.append("")
    if baseline:
        base_h = baseline["rps"] * 3600
        lines.append(f"The baseline's bare inserts: {base_h:,.0f} per hour.")
    lines.append("")
    groups = sorted({g for _, j in journeys for g in j["cpu_s"]})
    lines += [
        "CPU milliseconds per signature counted, whole journey (wrk not included):",
        "",
        "| journey | " + " | ".join(groups) + " | total |",
        "| --- |" + " ---: |" * (len(groups) + 1),
    ]
    for label, j in journeys:
        n = max(j["counted"], 1)
        cells = [f"{1000 * j['cpu_s'].get(g, 0) / n:.2f}" for g in groups]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {1000 * sum(j['cpu_s'].values()) / n:.2f} |")
    return [*lines, ""]


def export_section(run: Path) -> list[str]:
    export = load(run, "export")
    lines = ["### Exports against psql's \\copy of the same rows", ""]
    if not export:
        return [*lines, "Not measured (see run.log).", ""]
    lines += [
        "| export | rows | seconds | rows/s | \\copy s | \\copy rows/s | export / \\copy | peak memory MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for e in export["exports"]:
        for r in e["runs"]:
            lines.append(
                f"| {e['name']} | {r['exported_rows']:,} | {r['export_s']} | {r['export_rows_per_s']:,.0f} "
                f"| {r['copy_s']} | {r['copy_rows_per_s']:,.0f} | {r['ratio']:.2f} | {r['peak_rss_mib']:.0f} |"
            )
    lines.append("")
    for e in export["exports"]:
        small, big = e["runs"][0], e["runs"][-1]
        # A process that held the rows would grow by tens of MiB per 100,000 rows; a few MiB is noise.
        flat = big["peak_rss_mib"] <= small["peak_rss_mib"] + 10
        lines.append(
            f"- {e['name']}: `{e['function']}`. At least half the speed of \\copy: {verdict(big['ratio'] >= 0.5)} "
            f"({big['ratio']:.2f}). Peak memory the same for {small['exported_rows']:,} and "
            f"{big['exported_rows']:,} rows: {verdict(flat)} ({small['peak_rss_mib']:.0f} and "
            f"{big['peak_rss_mib']:.0f} MiB, Django included)."
        )
    return [*lines, ""]


def cpu_section(run: Path) -> list[str]:
    phases = [("case page", "case_page"), ("/api/totals", "totals_json"), ("baseline", "baseline"), ("sign", "sign")]
    measured = [(label, load(run, name), load(run, f"{name}.cpu")) for label, name in phases]
    measured = [(label, r, cpu) for label, r, cpu in measured if r and cpu]
    if not measured:
        return []
    groups = sorted({g for _, _, cpu in measured for g in cpu}, key=lambda g: (g == "wrk", g))
    lines = [
        "### Where the CPU went (CPU milliseconds per request, by process)",
        "",
        "| measurement | " + " | ".join(groups) + " | total |",
        "| --- |" + " ---: |" * (len(groups) + 1),
    ]
    for label, r, cpu in measured:
        n = max(r["requests"], 1)
        cells = [f"{1000 * cpu.get(g, 0) / n:.2f}" for g in groups]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {1000 * sum(cpu.values()) / n:.2f} |")
    lines += [
        "",
        "The machine has 2 cores, so 2,000 CPU ms per second in all: a path that needs 4 ms of CPU per request "
        "cannot pass about 500 requests per second here, whatever the settings. Redis and PostgreSQL's "
        "background processes are shared with anything else running on the machine. `profile.txt` in the "
        "results folder has a cProfile of the case page and of the sign view (bench/cpu_profile.py).",
        "",
    ]
    return lines


def summary(run: Path) -> str:
    setup = load(run, "setup") or {}
    load_before, load_after = setup.get("load_before"), setup.get("load_after")
    busy = ""
    if load_before:
        busy = f" Load average (1, 5, 15 min) at the start: {', '.join(map(str, load_before))}"
        busy += f"; at the end: {', '.join(map(str, load_after))}." if load_after else "."
    lines = [
        f"## make bench {setup.get('run', run.name)}",
        "",
        f"Commit {setup.get('commit', '?')}, {setup.get('cores', '?')} cores, PostgreSQL {setup.get('postgres', '?')}, "
        f"QUICK={setup.get('quick', '?')}: {setup.get('duration_s', '?')} s per wrk measurement, "
        f"{setup.get('connections', '?')} connections (wrk, 1 thread), gunicorn {setup.get('web_workers', '?')} sync "
        f"workers, Celery worker concurrency {setup.get('worker_concurrency', '?')}. wrk, gunicorn, PostgreSQL, Redis, "
        f"the worker and the SMTP sink share the same cores.{busy}",
        "",
    ]
    lines += targets_section(run) + cache_section(run) + layers_section(run) + signing_section(run)
    lines += cpu_section(run) + e2e_section(run) + export_section(run)
    return "\n".join(lines)


def main() -> None:
    print(summary(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
