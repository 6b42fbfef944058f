"""Periodic supporters' tasks (scheduled by SupportersConfig.ready()). Thin: each calls one service."""

from __future__ import annotations

from celery import shared_task

from .services import data, posts


@shared_task(ignore_result=True)
def count_posts() -> int:
    return posts.fold_posts()


@shared_task(ignore_result=True)
def send_data_links() -> dict:
    result = data.send_data_links()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def forget_data_requests() -> int:
    return data.forget_data_requests()
