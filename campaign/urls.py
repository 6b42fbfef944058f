"""Root URLs. Supporters' pages carry their language in the path (/en/, /fr/, /ar/)."""

import os

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from . import views

public = [
    path("", views.campaign_home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("<slug:campaign>/", views.campaign_home, name="campaign"),
    path("<slug:campaign>/<slug:slug>/", views.case_detail, name="case"),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/totals", views.public_totals, name="public-totals"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
urlpatterns += i18n_patterns(
    # Apps' own pages come first: the campaign's slug routes would catch anything.
    path("petitions/", include("petitions.urls")),
    path("letters/", include("letters.urls")),
    path("", include((public, "campaign"))),
)

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Only for `make bench` (bench/run sets it): the bare insert view the signing path is compared with.
if os.environ.get("PLUME_BENCH_BASELINE") == "1":
    urlpatterns += [path("bench/", include("bench.baseline"))]
