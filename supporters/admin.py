"""Requests for one's data are seen by superusers only, without their address: there is nothing for staff to
do with them (the mail goes by itself), and who asked is personal data."""

from __future__ import annotations

from django.contrib import admin

from .models import DataRequest


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    list_display = ("pk", "created_at", "language", "mail_status", "mail_attempts", "mail_last_error")
    list_filter = ("mail_status",)
    fields = ("created_at", "language", "mail_status", "mail_attempts", "mail_sent_at", "mail_last_error")
    readonly_fields = fields
    show_full_result_count = False

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
