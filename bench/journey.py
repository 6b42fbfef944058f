"""The end-to-end journey of bench/run.py: signatures signed, mailed, confirmed through their links, counted.

`journey()` takes `signatures` through the whole way: POSTed to the sign view by wrk, mailed by the worker to
the SMTP sink, confirmed through the link read from each mail (wrk POSTs each "Confirm my signature" form, as
people do, not a bulk shortcut), counted in the ledger by the rollup. In two modes:

- `overlap`: people confirm as their mail arrives while others are still signing, as in a surge;
- `stages`: all signed, then all mailed, then all clicked, then counted: a burst processed one stage after
  another, as earlier runs measured it (a stricter reading, kept to compare).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench import cpu
from bench.harness import Bench, Wrk

# Each mail has its link twice (text and HTML); a set keeps each once.
LINK = re.compile(rb"/[a-z-]+/petitions/confirm/[0-9]+:[A-Za-z0-9]+:[A-Za-z0-9_-]+/")
SIGNATURE_ID = re.compile(r"/confirm/([0-9]+):")


class MailDump:
    """The links of the mails the sink appended to its dump since the last look, read from where that look
    stopped (by byte: the dump grows to tens of MB, and what bench/run.py spends is taken from the platform it
    measures). A mail being written may end the new part mid-line: that line is read next time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = path.stat().st_size  # every mail before this point is an earlier measurement's
        self.links: set[str] = set()

    def new_links(self) -> list[str]:
        with self.path.open("rb") as dump:
            dump.seek(self.seen)
            chunk = dump.read()
        chunk = chunk[: chunk.rfind(b"\n") + 1]
        self.seen += len(chunk)
        found = {m.decode() for m in LINK.findall(chunk)} - self.links
        self.links |= found
        return sorted(found)


def journey(
    bench: Bench, name: str, tag: str, mode: str, base: str, form: dict[str, str], mail_dump: Path, signatures: int
) -> dict:
    """One journey of `signatures` (mode `overlap` or `stages`); writes and returns NAME.json."""
    timeout = bench.config.stage_timeout
    folder = bench.run_dir / name
    folder.mkdir()
    like = f"bench-{tag}%"

    def stored(condition: str = "") -> int:
        return bench.value(f"SELECT count(*) FROM petitions_signature WHERE email LIKE %s {condition}", [like])  # noqa: S608

    def tallied() -> int:
        return int(bench.value("SELECT coalesce(sum(count), 0) FROM campaign_tally WHERE kind = 'signature'"))

    def click(round_name: str, links: list[str]) -> dict | None:
        paths = folder / f"{round_name}.txt"
        paths.write_text("".join(f"{link}\n" for link in links))
        run = bench.wrk_until_done(
            f"{name}/{round_name}",
            "post_paths.lua",
            base,
            BENCH_PATHS_FILE=str(paths),
            BENCH_BODY=form["confirm_body"],
            BENCH_COOKIE=form["cookie"],
        )
        return run.wait()

    # The previous measurement's signatures would be mailed meanwhile: start empty. Their mail is all in the
    # dump already (each stage waits for it), so every mail after this point of the dump is this journey's.
    bench.sql("DELETE FROM petitions_signature")
    counted_before = tallied()
    mail = MailDump(mail_dump)
    cpu_before = bench.cpu_snapshot()
    t0 = time.monotonic()
    signer: Wrk | None = bench.wrk_until_done(
        f"{name}/sign",
        "post_unique.lua",
        base,
        BENCH_PATH=form["path"],
        BENCH_BODY=form["body"],
        BENCH_COOKIE=form["cookie"],
        BENCH_RUN_ID=tag,
        BENCH_MAX=str(signatures),
    )
    signed_summary = None
    t_signed = t_mailed = None
    rows = 0
    clicks: list[dict | None] = []
    rounds = 0
    last_round = 0.0
    todo: list[str] = []
    deadline = time.monotonic() + 3 * timeout
    while time.monotonic() < deadline:
        if signer is not None and signer.done():
            signed_summary = signer.wait()
            signer = None
            t_signed = time.monotonic()
            time.sleep(1)  # requests in flight when wrk stopped are still answered: let them land before counting
            rows = stored()
            bench.say(f"{name}: {rows} signatures stored")
        todo += mail.new_links()
        if t_signed is not None and t_mailed is None and len(mail.links) >= rows:
            t_mailed = time.monotonic()
        # Rounds at most a second apart: each starts a wrk, whose start-up takes from the cores being measured.
        if todo and (mode == "overlap" or t_mailed is not None) and time.monotonic() - last_round >= 1:
            rounds += 1
            last_round = time.monotonic()
            clicks.append(click(f"click_{rounds}", todo))
            todo = []
        elif t_mailed is not None and not todo:
            break
        else:
            time.sleep(0.5)
    if signer is not None:
        signed_summary = signer.wait()
    # Should a click have been lost on the way (wrk reconnects after every answer of gunicorn's sync workers),
    # click again the links whose signature is still pending, as a person would.
    for attempt in (1, 2):
        pending = {
            str(pk)
            for (pk,) in bench.sql(
                "SELECT id FROM petitions_signature WHERE email LIKE %s AND status = 'pending'", [like]
            )
        }
        again = sorted(link for link in mail.links if SIGNATURE_ID.search(link).group(1) in pending)
        if not again:
            break
        bench.say(f"{name}: {len(again)} signatures still pending; clicking again")
        clicks.append(click(f"again_{attempt}", again))
    t_clicked = time.monotonic()
    # Only what was confirmed can be counted: wait for that many, and report any gap.
    confirmed = stored("AND status = 'confirmed'")
    bench.wait_for("the ledger to count them", timeout, lambda: tallied() - counted_before >= confirmed)
    t_counted = time.monotonic()
    cpu_after = bench.cpu_snapshot()

    statuses: dict[str, int] = {}
    for summary in filter(None, clicks):
        for status, n in summary.get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + n

    def since(t: float | None) -> float | None:
        return round(t - t0, 2) if t else None

    result = {
        "mode": mode,
        "signatures": rows,
        "mailed": len(mail.links),
        "confirmed": confirmed,
        "counted": tallied() - counted_before,
        "click_rounds": rounds,
        "click_statuses": statuses,
        "signed_s": since(t_signed),
        "mailed_s": since(t_mailed),
        "clicked_s": since(t_clicked),
        "total_s": since(t_counted),
        "sign": signed_summary,
        "cpu_s": cpu.diff(cpu_before, cpu_after),
    }
    bench.write_json(name, result)
    bench.say(f"{name}: {result}")
    return result
