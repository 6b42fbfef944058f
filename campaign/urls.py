"""Root URLs. Supporters' pages carry their language in the path (/en/, /fr/, /ar/).

The campaign's own pages are listed here; every other app contributes its own: an app whose AppConfig has a
`url_prefix` gets its urls.py's `urlpatterns` under /<language>/<url_prefix> and its `root_urlpatterns` (if
any) at the root. So this project never names the apps that hang off it (imports flow one way).
"""

import os
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from . import views
from .lib import metrics

public = [
    path("", views.campaign_home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("<slug:campaign>/", views.campaign_home, name="campaign"),
    path("<slug:campaign>/<slug:slug>/", views.case_detail, name="case"),
]


def _contributed() -> tuple[list, list]:
    """Each app's URLs: (under the language prefix, at the root)."""
    localised, root = [], []
    for config in apps.get_app_configs():
        prefix = getattr(config, "url_prefix", None)
        if prefix is None:
            continue
        module = import_module(f"{config.name}.urls")
        localised.append(path(prefix, include(module)))
        root += getattr(module, "root_urlpatterns", [])
    return localised, root


_localised, _root = _contributed()

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Prometheus' scrape: allowed networks or the token only (campaign.lib.metrics).
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/totals", views.public_totals, name="public-totals"),
    *_root,
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
urlpatterns += i18n_patterns(
    # Apps' own pages come first: the campaign's slug routes would catch anything.
    *_localised,
    path("", include((public, "campaign"))),
)

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Only for `make bench` (bench/run sets it): the bare insert view the signing path is compared with.
if os.environ.get("PLUME_BENCH_BASELINE") == "1":
    urlpatterns += [path("bench/", include("bench.baseline"))]
