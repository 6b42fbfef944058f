"""The campaign app: editions, their cases and the ledger of counted actions. Also the Django project."""

from .celery import app as celery_app

__all__ = ("celery_app",)
