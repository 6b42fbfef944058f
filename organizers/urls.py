"""Organizers' pages under /<language>/staff/, the counter partner sites embed under /<language>/embed/, the
event reports and local groups' pages under /<language>/events/ and /<language>/groups/, and
(root_urlpatterns, without a language) the open data."""

from django.contrib.auth.views import LogoutView
from django.urls import path

from . import group_views, paper_views, partner_views, views

app_name = "organizers"
urlpatterns = [
    path("staff/", views.dashboard_page, name="dashboard"),
    path("staff/exports/", views.export_list, name="exports"),
    path("staff/exports/<int:pk>/", views.export_detail, name="export"),
    path("staff/exports/<int:pk>/status", views.export_status, name="export-status"),
    path("staff/exports/<int:pk>/download", views.export_download, name="export-download"),
    path("staff/authority-lists/", views.authority_lists, name="authority-lists"),
    path("staff/authority-lists/<slug:campaign>/<slug:case>/", views.signature_list, name="signature-list"),
    # On paper (#13): tally sheets, hand-over packs, letters packs and their hand-over.
    path("staff/paper/", paper_views.paper_page, name="paper"),
    path("staff/paper/tally-sheet/", paper_views.tally_sheet_pdf, name="tally-sheet"),
    path("staff/paper/handover-pack/", paper_views.handover_pack, name="handover-pack"),
    path("staff/paper/letters-pack/", paper_views.letters_pack_request, name="letters-pack"),
    path("staff/paper/letters-pack/<int:pk>/handover/", paper_views.record_handover, name="letters-pack-handover"),
    path("staff/paper/letters-pack/<int:pk>/not-printed/", paper_views.cancel_letters_pack, name="letters-pack-cancel"),
    path("embed/<slug:campaign>/<slug:case>/", partner_views.widget, name="widget"),
    # Printed as a QR code on events' tally sheets: keep this address.
    path("events/<slug:campaign>/<slug:case>/report/", group_views.event_report, name="event-report"),
    path("events/<slug:campaign>/<slug:case>/thanks/", group_views.event_report_thanks, name="event-report-thanks"),
    path("groups/", group_views.group_home, name="groups"),
    path("groups/sign-in/", group_views.GroupLoginView.as_view(), name="group-login"),
    path("groups/sign-out/", LogoutView.as_view(next_page="organizers:group-login"), name="group-logout"),
    path("groups/password/<uidb64>/<token>/", group_views.GroupPasswordView.as_view(), name="group-password"),
    path("groups/<slug:slug>/", group_views.group_page, name="group"),
]
root_urlpatterns = [
    path("api/v1/totals", partner_views.open_data_totals, name="open-data-totals"),
]
