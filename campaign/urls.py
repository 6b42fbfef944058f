"""Root URLs. Supporters' pages carry their language in the path (/en/, /fr/, /ar/)."""

import os

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from . import partner_views, staff_views, views

public = [
    path("", views.campaign_home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("<slug:campaign>/", views.campaign_home, name="campaign"),
    path("<slug:campaign>/<slug:slug>/", views.case_detail, name="case"),
]

# Organizers' dashboard and exports (campaign/staff_views.py).
staff = [
    path("", staff_views.dashboard_page, name="dashboard"),
    path("exports/", staff_views.export_list, name="exports"),
    path("exports/<int:pk>/", staff_views.export_detail, name="export"),
    path("exports/<int:pk>/status", staff_views.export_status, name="export-status"),
    path("exports/<int:pk>/download", staff_views.export_download, name="export-download"),
]
# The counter partner sites embed in an iframe (campaign/partner_views.py).
embed = [path("<slug:campaign>/<slug:case>/", partner_views.widget, name="widget")]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/totals", views.public_totals, name="public-totals"),
    path("api/v1/totals", partner_views.open_data_totals, name="open-data-totals"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
urlpatterns += i18n_patterns(
    # Apps' own pages come first: the campaign's slug routes would catch anything.
    path("petitions/", include("petitions.urls")),
    path("letters/", include("letters.urls")),
    path("staff/", include((staff, "campaign-staff"))),
    path("embed/", include((embed, "campaign-embed"))),
    path("", include((public, "campaign"))),
)

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Only for `make bench` (bench/run sets it): the bare insert view the signing path is compared with.
if os.environ.get("PLUME_BENCH_BASELINE") == "1":
    urlpatterns += [path("bench/", include("bench.baseline"))]
