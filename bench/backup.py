"""Backup and restore of Plume's PostgreSQL database, done once for real: dump, restore into a new database,
and the totals (and every table's rows) equal.

    .venv/bin/python bench/backup.py            # SIGNATURES=20000 by default

On a PostgreSQL cluster of its own (initdb in a temporary directory, a free port on 127.0.0.1; never the
machine's shared server): migrate, the demo campaign, SIGNATURES signatures signed, confirmed and counted
through Plume's own services, letters approved; then `pg_dump --format=custom`, `createdb` and `pg_restore
--jobs 2` into a new database, and Plume's totals (campaign.lib.ledger.compute_totals) read from both, with
the row count of every table. Prints what it measured; docs/operations.md keeps a run.
Needs PostgreSQL 15's programs (PG_BIN): apt-get install postgresql.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hosts.pg import PG_BIN, Cluster  # noqa: E402

SIGNATURES = int(os.environ.get("SIGNATURES", "20000"))

# Run inside Plume (DATABASE_URL set): fills the database through the services, as supporters would.
FILL = """
import django, os
django.setup()
from django.utils import timezone
from campaign.models import Case
from letters.models import Letter
from letters.services import moderation
from letters.services.screening import text_fingerprint
from petitions.models import Signature
from petitions.services import counting, signing
n = int(os.environ["SIGNATURES"])
cases = list(Case.objects.select_related("campaign").order_by("pk"))
for i in range(n):
    signing.sign_petition(cases[i % len(cases)], signing.SignatureData(
        name=f"Signer {i}", email=f"signer{i}@example.org", country=["FR", "DZ", "ES", "MA"][i % 4]))
Signature.objects.filter(pk__in=Signature.objects.order_by("pk").values("pk")[: n * 9 // 10]).update(
    status=Signature.Status.CONFIRMED, confirmed_at=timezone.now())
counting.count_signatures()
from django.contrib.auth.models import User
moderator = User.objects.create_user("backup-moderator", is_staff=True, is_superuser=True)
for i in range(n // 20):
    text = f"Stay strong, message {i}."
    letter = Letter.objects.create(case=cases[i % len(cases)], first_name="Ana", country="PT", language="en",
                                   text=text, text_hash=text_fingerprint(text))
    moderation.approve_letters([letter.pk], moderator)
"""

# Run inside Plume: what the restored database must show the same.
READ = """
import django, json
django.setup()
from django.db import connection
from campaign.lib.ledger import compute_totals
totals = compute_totals()
totals.pop("computed_at")
tables = {}
with connection.cursor() as cursor:
    for table in sorted(connection.introspection.table_names()):
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        tables[table] = cursor.fetchone()[0]
print(json.dumps({"totals": totals, "tables": tables}))
"""


def plume(env: dict, code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return result.stdout


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="plume-backup-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    cluster = Cluster(directory / "pg")
    cluster.init_primary().start()
    try:
        cluster.create_database("plume")
        env = {**os.environ, "DATABASE_URL": cluster.url("plume"), "PLUME_VAR_DIR": str(directory / "var"),
               "SIGNATURES": str(SIGNATURES), "DJANGO_SETTINGS_MODULE": "campaign.settings",
               "EMAIL_URL": "dummymail://"}  # fmt: skip
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True)
        started = time.monotonic()
        plume(env, FILL)
        print(f"filled: {SIGNATURES} signatures and {SIGNATURES // 20} letters in {time.monotonic() - started:.0f} s")
        before = json.loads(plume(env, READ))

        dump = directory / "plume.dump"
        started = time.monotonic()
        cluster.run(str(PG_BIN / "pg_dump"), "-h", cluster.host, "-p", str(cluster.port), "-U", "postgres",
                    "--format=custom", "--file", str(dump), "plume")  # fmt: skip
        dumped = time.monotonic() - started
        cluster.create_database("plume_restored")
        started = time.monotonic()
        cluster.run(str(PG_BIN / "pg_restore"), "-h", cluster.host, "-p", str(cluster.port), "-U", "postgres",
                    "--jobs", "2", "--exit-on-error", "--dbname", "plume_restored", str(dump))  # fmt: skip
        restored = time.monotonic() - started
        after = json.loads(plume({**env, "DATABASE_URL": cluster.url("plume_restored")}, READ))

        size = cluster.sql("SELECT pg_database_size('plume')")
        print(f"pg_dump --format=custom: {dumped:.1f} s, {dump.stat().st_size / 1e6:.1f} MB "
              f"(database {int(size) / 1e6:.1f} MB)")  # fmt: skip
        print(f"pg_restore --jobs 2 into a new database: {restored:.1f} s")
        print(f"totals: {before['totals']['total']} before, {after['totals']['total']} after the restore")
        differing = {t for t in before["tables"] if before["tables"][t] != after["tables"].get(t)}
        print(f"tables: {len(before['tables'])}, rows {sum(before['tables'].values())}; differing: {sorted(differing)}")
        if before["totals"] != after["totals"] or differing:
            raise SystemExit("The restored database differs from the one dumped.")
        print("The restored database has the same totals and the same rows in every table.")
    finally:
        cluster.stop("fast")
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
