"""Settings for `collectstatic` only, used by bench/run when the production one fails.

The vendored Bootstrap files end with `sourceMappingURL=...map` comments but the .map files are not
vendored, so whitenoise's manifest storage refuses to collect them with DEBUG off. This storage skips the
source-map references and writes the same manifest the production storage then serves from.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage

from campaign.settings import *  # noqa: F403
from campaign.settings import STORAGES


class NoSourceMapStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(
        (glob, tuple(p for p in rules if "sourceMappingURL" not in (p[0] if isinstance(p, tuple) else p)))
        for glob, rules in CompressedManifestStaticFilesStorage.patterns
    )


STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "bench.static_workaround.NoSourceMapStorage"}}
