"""Plume settings: everything an operator sets comes from environment variables.

The defaults run the demo on one machine with nothing installed: an SQLite file, a file-based cache, a
Celery broker on the filesystem and mail printed to the console. Production points the same code at
PostgreSQL, Redis and SMTP (see the configuration table in README.md).

DEBUG is off unless asked for (`make run` asks). Without SECRET_KEY, Plume signs with a demo key printed
below, which anyone could use to forge links: it then answers on loopback only (127.0.0.1, [::1], localhost)
and refuses to start when told to serve any other host. With a SECRET_KEY, SITE_URL is required.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the embedded default writes (database, cache, broker queue, uploads) lives here.
VAR_DIR = Path(environ.Env().str("PLUME_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# Off unless asked for: an operator who forgets it runs without debug pages. `make run` turns it on.
DEBUG = env.bool("DEBUG", default=False)

# Published on purpose, so the demo and the tests run with nothing set; never good enough for a site.
DEMO_SECRET_KEY = "plume-demo-only-not-secret-" + "x" * 40
SECRET_KEY = env.str("SECRET_KEY", default="") or DEMO_SECRET_KEY
RUNS_WITH_DEMO_KEY = SECRET_KEY == DEMO_SECRET_KEY
# The hosts the demo key may serve: only this machine can reach them.
LOOPBACK_HOSTS = ["127.0.0.1", "[::1]", "localhost"]


def _is_loopback(host: str) -> bool:
    name = host.strip().lower().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_entry(host: str) -> str:
    """An ALLOWED_HOSTS entry as Django compares it: IPv6 addresses in brackets."""
    host = host.strip()
    try:
        return f"[{ipaddress.IPv6Address(host)}]"
    except ValueError:
        return host


SITE_URL = env.str("SITE_URL", default="").rstrip("/")
if not SITE_URL:
    if not RUNS_WITH_DEMO_KEY:
        raise ImproperlyConfigured(
            "SITE_URL must be set with a SECRET_KEY: it is the base of the links in mails (see the configuration "
            "table in README.md)."
        )
    SITE_URL = "http://127.0.0.1:8000"
_site = urlsplit(SITE_URL)
if _site.scheme not in ("http", "https") or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an absolute http:// or https:// address, not {SITE_URL!r}.")
SITE_IS_HTTPS = _site.scheme == "https"

if RUNS_WITH_DEMO_KEY:
    ALLOWED_HOSTS = [_host_entry(h) for h in env.list("ALLOWED_HOSTS", default=LOOPBACK_HOSTS)]
    _others = [h for h in [_site.hostname, *ALLOWED_HOSTS] if not _is_loopback(h)]
    if _others:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set to serve {', '.join(dict.fromkeys(_others))}. Without it Plume signs "
            "confirmation links and sessions with the demo key printed in its source, which anyone could use to "
            "forge them, so it only answers on 127.0.0.1, [::1] and localhost (see the configuration table in "
            "README.md)."
        )
else:
    ALLOWED_HOSTS = [
        _host_entry(h)
        for h in env.list("ALLOWED_HOSTS", default=[_site.hostname, *LOOPBACK_HOSTS] if DEBUG else [_site.hostname])
    ]
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

# The HTTPS settings follow SITE_URL, so production settings also run over plain HTTP on loopback.
SECURE_SSL_REDIRECT = SITE_IS_HTTPS
SESSION_COOKIE_SECURE = SITE_IS_HTTPS
CSRF_COOKIE_SECURE = SITE_IS_HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if SITE_IS_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=SITE_IS_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=SITE_IS_HTTPS)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself: otherwise clients could claim to be on HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies in front of Plume append to X-Forwarded-For: rate limits count the address the
# nearest untrusted hop reports. 0 trusts no header (Plume faces the internet directly).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from our own static files, never inline, so that even a
# mistake in escaping could not run what a supporter typed. Inline style attributes are allowed (progress
# bars). Only the partner counter (organizers.partner_views.widget) may be framed by other sites.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

INSTALLED_APPS = [
    # modeltranslation must come before the admin to add per-language tabs to it.
    "modeltranslation",
    # Django's admin, on a site that asks staff for their second factor when STAFF_TWO_FACTOR is on.
    "campaign.lib.signin.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "campaign",
    "petitions",
    "letters",
    "supporters",
    "sections",
    "organizers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "campaign.lib.signin.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "campaign.urls"
WSGI_APPLICATION = "campaign.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'plume.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The demo's web server, worker and beat share one file: WAL lets readers go on while one writes,
    # and IMMEDIATE transactions wait for the write lock instead of failing half-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
if env.str("TEST_DATABASE_NAME", default=""):
    # Lets two test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
# A streaming replica the heavy readers may read from (campaign.lib.routers; Operations below).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A replica that is down is noticed within 2 s, and its reads go to the primary.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # Tests never build a database on a standby: the replica is the test database itself.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql" or DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL, for DATABASE_URL too (postgres://...).")
    DATABASE_ROUTERS = ["campaign.lib.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker ----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# When the broker goes away, the worker, beat and web processes try again at once, then every half second,
# then every second, for as long as it takes (CELERY_BROKER_CONNECTION_MAX_RETRIES below): back within a
# second or two of Redis (docs/reliability.md). Celery's default waits 2, 4, 6 ... up to 30 s between tries.
_BROKER_RETRY = {"interval_start": 0, "interval_step": 0.5, "interval_max": 1}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "campaign.lib.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "plume",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # acks_late on Redis: a task not acknowledged within this time is handed to another worker, so it
    # must stay well above the slowest task (a digest or an export).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, **_BROKER_RETRY}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": "plume",
        }
    }
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    _control = VAR_DIR / "celery" / "control"
    for _folder in (_queue, _processed, _control):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "store_processed": False,
        # Its table of exchanges: under var/ too (kombu's default is ./control, beside the code).
        "control_folder": str(_control),
        **_BROKER_RETRY,
    }
    # The filesystem transport has no broadcast channel for remote control.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Retried every second (_BROKER_RETRY), 100 tries (Celery's default) would end a worker after under two minutes
# without Redis: retry for as long as it takes. The worker's consumer uses the intervals (campaign.celery).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "campaign.celery:BrokerConsumer"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Each app adds its own periodic tasks to beat's schedule (campaign.celery.schedule, from its AppConfig), with
# the intervals set below. A task that must not run twice at once takes a lock of its own.
# How old the last beat tick may be before /healthz reports beat as down.
BEAT_STALE_AFTER_SECONDS = env.int("BEAT_STALE_AFTER_SECONDS", default=90)

# --- Mail ------------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Plume <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Languages -------------------------------------------------------------------------------------
# Every language Plume ships: a catalogue in locale/<code>/ and a column for each case text (adding one: the
# README's three steps). LANGUAGES picks those a site offers, in the order of its language menu; the first
# is the default (pages, mails and case texts fall back to it).
AVAILABLE_LANGUAGES = {"en": _("English"), "fr": _("French"), "es": _("Spanish"), "ar": _("Arabic")}
_languages = env.list("LANGUAGES", default=list(AVAILABLE_LANGUAGES))
if not _languages or set(_languages) - set(AVAILABLE_LANGUAGES):
    raise ImproperlyConfigured(
        f"LANGUAGES must name languages Plume ships ({', '.join(AVAILABLE_LANGUAGES)}), not {_languages!r}."
    )
LANGUAGES = [(code, AVAILABLE_LANGUAGES[code]) for code in _languages]
LANGUAGE_CODE = LANGUAGES[0][0]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True
# Case texts are written per language, one column each for every language Plume ships (so a site that
# offers fewer needs no other migration); an empty one falls back to the default language, then to the
# others in order.
MODELTRANSLATION_LANGUAGES = tuple(AVAILABLE_LANGUAGES)
MODELTRANSLATION_DEFAULT_LANGUAGE = LANGUAGE_CODE
MODELTRANSLATION_FALLBACK_LANGUAGES = (LANGUAGE_CODE, *(code for code in AVAILABLE_LANGUAGES if code != LANGUAGE_CODE))

# --- Static files and uploads -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploads that must never be reachable by a public URL (letters' images before approval).
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
# The demo and DEBUG serve static files straight from static/ (no collectstatic); a site serves the hashed,
# compressed files collectstatic wrote.
_STATIC_FROM_SOURCE = DEBUG or RUNS_WITH_DEMO_KEY
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if _STATIC_FROM_SOURCE
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = _STATIC_FROM_SOURCE
WHITENOISE_AUTOREFRESH = _STATIC_FROM_SOURCE

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Staff sign-in -------------------------------------------------------------------------------------
# django-axes counts failed sign-ins per user name and network (an IPv6 /64 as one, like the rate limits)
# and locks that pair out for a while; a successful sign-in clears the count. `manage.py axes_reset_username
# NAME` lifts a lockout early. Only failures are kept, and only until their lockout is over.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("STAFF_SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("STAFF_SIGNIN_LOCKOUT_MINUTES", default=60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "campaign.lib.abuse.client_network"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
# Log lines about failed sign-ins name the user and network as "********" (django-axes masks them).
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "campaign.lib.signin.locked_out"
# Staff who can see personal data (every staff role in Plume: moderators read letters and writers' names,
# organizers the signers' lists) use a second factor, a code from an authenticator app (TOTP, django-otp),
# when this is on: `manage.py enrol_second_factor NAME` gives them one (see README.md).
STAFF_TWO_FACTOR = env.bool("STAFF_TWO_FACTOR", default=False)
# The name authenticator apps show next to the code.
OTP_TOTP_ISSUER = "Plume"

# --- Supporters' forms ------------------------------------------------------------------------------------
# The signed time a petition or letter form carries is good for this long; an older one comes back to the
# visitor with a message and a fresh time (campaign.lib.abuse.HumanCheckFormMixin).
FORM_EXPIRES_AFTER_SECONDS = env.int("FORM_EXPIRES_AFTER_SECONDS", default=3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Paths in log lines ("Not Found: /en/petitions/confirm/...") lose the tokens they carry.
    "filters": {"no_tokens": {"()": "campaign.lib.accesslog.RedactTokensFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["no_tokens"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# How long the public totals stay cached: pages and the JSON endpoint are at most this old.
TOTALS_CACHE_SECONDS = env.int("TOTALS_CACHE_SECONDS", default=10)

# --- Organizers: offline reports, exports, open data (organizers/, docs/organizers.md) ---------------
# How long an export file stays downloadable before the hourly cleanup deletes it.
EXPORT_FILES_KEEP_HOURS = env.int("EXPORT_FILES_KEEP_HOURS", default=24)
# An export writes its progress to its ExportJob row every this many rows.
EXPORT_PROGRESS_EVERY_ROWS = env.int("EXPORT_PROGRESS_EVERY_ROWS", default=5000)
# Requests per minute and IP address to the public open-data JSON (/api/v1/totals); more get a 429.
OPEN_DATA_RATE_LIMIT_PER_MINUTE = env.int("OPEN_DATA_RATE_LIMIT_PER_MINUTE", default=60)

# --- Sections: the movement's totals, case packs, local groups, event reports (docs/sections.md) ------------
# Reports sent from an event's link (the QR code of a tally sheet): attempts per network address and hour, and
# the most one report may count (more is one report per event, or an organizer's).
EVENT_REPORT_RATE_LIMIT_PER_HOUR = env.int("EVENT_REPORT_RATE_LIMIT_PER_HOUR", default=10)
EVENT_REPORT_MAX_COUNT = env.int("EVENT_REPORT_MAX_COUNT", default=100_000)
# A hub fetches the totals of the sections it follows (docs/sections.md): how often, how long one answer may
# take (then the next round tries again, backing off up to the maximum), and the largest answer read.
SECTIONS_FETCH_INTERVAL_SECONDS = env.int("SECTIONS_FETCH_INTERVAL_SECONDS", default=300)
SECTIONS_FETCH_TIMEOUT_SECONDS = env.float("SECTIONS_FETCH_TIMEOUT_SECONDS", default=20.0)
SECTIONS_MAX_BACKOFF_SECONDS = env.int("SECTIONS_MAX_BACKOFF_SECONDS", default=3600)
SECTIONS_MAX_DOCUMENT_BYTES = env.int("SECTIONS_MAX_DOCUMENT_BYTES", default=4 * 1024 * 1024)
# Sections fetched at once in one round (each waits on the network, not on the CPU).
SECTIONS_FETCH_CONCURRENCY = env.int("SECTIONS_FETCH_CONCURRENCY", default=8)
# A section whose figures have not arrived for this long is shown as stale (its last figures still count).
SECTIONS_STALE_AFTER_SECONDS = env.int("SECTIONS_STALE_AFTER_SECONDS", default=3600)
# New figures whose total is this many percent below the counted ones are held for an organizer to accept.
SECTIONS_HOLD_FALL_PERCENT = env.int("SECTIONS_HOLD_FALL_PERCENT", default=10)
# No count in a section's figures may be above this: more is a mistake, and the figures are refused.
SECTIONS_MAX_COUNT = env.int("SECTIONS_MAX_COUNT", default=50_000_000)
# Pushes per token and hour, and the name this site's own figures have among the sections (empty: its host).
SECTIONS_PUSH_RATE_LIMIT_PER_HOUR = env.int("SECTIONS_PUSH_RATE_LIMIT_PER_HOUR", default=120)
SECTIONS_OWN_NAME = env.str("SECTIONS_OWN_NAME", default="") or _site.hostname
# The largest case pack imported (a ZIP of the texts and photos), and the largest photo in it.
CASE_PACK_MAX_BYTES = env.int("CASE_PACK_MAX_BYTES", default=50 * 1024 * 1024)
CASE_PACK_PHOTO_MAX_BYTES = env.int("CASE_PACK_PHOTO_MAX_BYTES", default=8 * 1024 * 1024)

# --- Petitions (petitions/, docs/petitions.md) ----------------------------------------------------------
# A form sent faster than this after it was shown is stored flagged (a bot); benchmarks set it to 0.
PETITION_MIN_SECONDS_TO_FILL = env.int("PETITION_MIN_SECONDS_TO_FILL", default=3)
# Signing attempts per IP address and window; more get a friendly 429 page and nothing is stored.
PETITION_IP_RATE_LIMIT = env.int("PETITION_IP_RATE_LIMIT", default=30)
PETITION_IP_RATE_WINDOW_SECONDS = env.int("PETITION_IP_RATE_WINDOW_SECONDS", default=600)
# Signatures per email domain and window, except the big providers below that many real people share.
PETITION_DOMAIN_RATE_LIMIT = env.int("PETITION_DOMAIN_RATE_LIMIT", default=120)
PETITION_DOMAIN_RATE_WINDOW_SECONDS = env.int("PETITION_DOMAIN_RATE_WINDOW_SECONDS", default=60)
PETITION_RATE_LIMIT_EXEMPT_DOMAINS = env.list(
    "PETITION_RATE_LIMIT_EXEMPT_DOMAINS",
    default=[
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
        "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "web.de", "orange.fr",
        "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr", "hotmail.fr", "yahoo.fr", "outlook.fr",
    ],
)  # fmt: skip
# "Already signed" / "new link" mails one address can trigger through the form, per petition.
PETITION_REPEAT_MAILS_MAX = env.int("PETITION_REPEAT_MAILS_MAX", default=3)
# How long a confirmation link works; a signature still unconfirmed after PETITION_UNCONFIRMED_DAYS is deleted.
PETITION_CONFIRM_LINK_DAYS = env.int("PETITION_CONFIRM_LINK_DAYS", default=7)
PETITION_UNCONFIRMED_DAYS = env.int("PETITION_UNCONFIRMED_DAYS", default=14)
# Signers' network addresses are blanked after this many days (rate limits and fraud review only).
PETITION_IP_RETENTION_DAYS = env.int("PETITION_IP_RETENTION_DAYS", default=7)
# Email addresses are erased this long after the petition closed (names and countries stay); those of people
# who asked to hear how the case turns out are kept longer, for that news.
PETITION_EMAIL_DAYS_AFTER_CLOSE = env.int("PETITION_EMAIL_DAYS_AFTER_CLOSE", default=30)
PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE = env.int("PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE", default=365)
# An erased signature keeps a keyed hash of its normalised address, so the same person still signs a petition
# once. Its key: this, or when empty SECRET_KEY. Changing it makes every stored marker stale (docs/petitions.md):
# set it to the old SECRET_KEY before rotating that one.
PETITION_EMAIL_MARKER_KEY = env.str("PETITION_EMAIL_MARKER_KEY", default="")
# A paper import's rejected rows (addresses masked) are kept this long for the organizer to correct them, then
# erased by the hourly forgetting task; the import's counts stay.
PETITION_PAPER_REPORT_DAYS = env.int("PETITION_PAPER_REPORT_DAYS", default=30)
# Confirmation mails claimed per batch (one SMTP connection), and how long one task keeps sending batches.
PETITION_MAIL_BATCH_SIZE = env.int("PETITION_MAIL_BATCH_SIZE", default=200)
PETITION_MAIL_TASK_SECONDS = env.int("PETITION_MAIL_TASK_SECONDS", default=20)
# How often beat sends the confirmations and folds confirmed signatures into the totals.
PETITION_MAIL_INTERVAL_SECONDS = env.float("PETITION_MAIL_INTERVAL_SECONDS", default=5.0)
PETITION_ROLLUP_INTERVAL_SECONDS = env.float("PETITION_ROLLUP_INTERVAL_SECONDS", default=5.0)

# --- Letters (letters/, see docs/letters.md) ---------------------------------------------------------------
# Longest message a supporter may write, in characters (shown as they type, enforced on the server).
LETTERS_MAX_CHARS = env.int("LETTERS_MAX_CHARS", default=1500)
# The optional drawing or photo: largest upload, most pixels (checked before decoding), longest side kept.
# 16 megapixels is more than a phone's photo; each decoding takes up to 100 MiB (letters/images.py).
LETTERS_IMAGE_MAX_BYTES = env.int("LETTERS_IMAGE_MAX_BYTES", default=8 * 1024 * 1024)
LETTERS_IMAGE_MAX_PIXELS = env.int("LETTERS_IMAGE_MAX_PIXELS", default=16_000_000)
LETTERS_IMAGE_MAX_SIDE = env.int("LETTERS_IMAGE_MAX_SIDE", default=2000)
# Letters one network address may try to send per hour (every attempt counts, before its upload is read);
# the same text from one address per day.
LETTERS_RATE_LIMIT_PER_HOUR = env.int("LETTERS_RATE_LIMIT_PER_HOUR", default=10)
LETTERS_SAME_TEXT_PER_DAY = env.int("LETTERS_SAME_TEXT_PER_DAY", default=2)
# A letter sent sooner than this after the form was shown is kept but flagged for the moderator ("bot").
LETTERS_MIN_SECONDS_TO_FILL = env.int("LETTERS_MIN_SECONDS_TO_FILL", default=3)
# A writer's email is kept only to say their letter was delivered: erased once told, or after this many days.
LETTERS_WRITER_EMAIL_DAYS = env.int("LETTERS_WRITER_EMAIL_DAYS", default=90)
# How long a moderator's claim on a letter lasts before another moderator may take it.
LETTERS_CLAIM_MINUTES = env.int("LETTERS_CLAIM_MINUTES", default=15)
# Most letters in one family digest (the rest go in the next one), and the drawings' total size attached to
# one mail; drawings beyond it are linked through private links that expire after LETTERS_IMAGE_LINK_DAYS.
LETTERS_DIGEST_MAX_LETTERS = env.int("LETTERS_DIGEST_MAX_LETTERS", default=100)
LETTERS_DIGEST_ATTACH_MAX_BYTES = env.int("LETTERS_DIGEST_ATTACH_MAX_BYTES", default=10 * 1024 * 1024)
LETTERS_IMAGE_LINK_DAYS = env.int("LETTERS_IMAGE_LINK_DAYS", default=30)
# A digest is recorded as being sent before it goes out; a worker that dies sending it leaves it so, and after
# this many seconds it is shown to organizers as "may not have arrived" (never sent again by itself).
LETTERS_DIGEST_LEASE_SECONDS = env.int("LETTERS_DIGEST_LEASE_SECONDS", default=900)
# How often beat looks for family contacts whose digest is due, sends delivery notices, reminds moderators.
LETTERS_DIGEST_INTERVAL_SECONDS = env.float("LETTERS_DIGEST_INTERVAL_SECONDS", default=300.0)
LETTERS_NOTICE_INTERVAL_SECONDS = env.float("LETTERS_NOTICE_INTERVAL_SECONDS", default=600.0)
LETTERS_REMINDER_INTERVAL_SECONDS = env.float("LETTERS_REMINDER_INTERVAL_SECONDS", default=3 * 3600.0)

# --- Supporters (supporters/, docs/supporters.md; each setting is in the README) ----------------------------
# Who runs the site, named in every page's footer, the privacy notice and every mail (`check --deploy` warns
# while a site keeps the demo's values); PRIVACY_CONTACT is where to write about one's data.
ORGANISATION_NAME = env.str("ORGANISATION_NAME", default="Plume demo")
ORGANISATION_CONTACT = env.str("ORGANISATION_CONTACT", default="contact@example.org")
PRIVACY_CONTACT = env.str("PRIVACY_CONTACT", default="") or ORGANISATION_CONTACT
# "Your data": the mailed link's life (the request and its address are deleted then), links mailed to one
# address per hour, and asks from one network per hour.
SUPPORTERS_DATA_LINK_HOURS = env.int("SUPPORTERS_DATA_LINK_HOURS", default=24)
SUPPORTERS_DATA_MAILS_PER_HOUR = env.int("SUPPORTERS_DATA_MAILS_PER_HOUR", default=3)
SUPPORTERS_DATA_IP_RATE_LIMIT = env.int("SUPPORTERS_DATA_IP_RATE_LIMIT", default=20)
# How long a friend's browser remembers the share link it came through (case, channel and code), until it signs.
SUPPORTERS_REFERRAL_COOKIE_DAYS = env.int("SUPPORTERS_REFERRAL_COOKIE_DAYS", default=7)
# The share images' fonts: they must cover every script of LANGUAGES (DejaVu: Latin and Arabic).
_FONTS = "/usr/share/fonts/truetype/dejavu/"
SUPPORTERS_SHARE_IMAGE_FONT = env.str("SUPPORTERS_SHARE_IMAGE_FONT", default=_FONTS + "DejaVuSans.ttf")
SUPPORTERS_SHARE_IMAGE_BOLD_FONT = env.str("SUPPORTERS_SHARE_IMAGE_BOLD_FONT", default=_FONTS + "DejaVuSans-Bold.ttf")
SUPPORTERS_POSTS_INTERVAL_SECONDS = env.float("SUPPORTERS_POSTS_INTERVAL_SECONDS", default=60.0)
# The demo's local mailbox (only with DEBUG and no EMAIL_URL): mails kept as files, read in the browser.
SUPPORTERS_MAILBOX_DIR = Path(env.str("SUPPORTERS_MAILBOX_DIR", default=str(VAR_DIR / "mailbox")))
if DEBUG and not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "supporters.mailbox.LocalMailboxBackend"

# --- Operations: read replica, metrics, error reports (docs/operations.md) ------------------------------------
# With DATABASE_REPLICA_URL (above), these views and tasks read from the replica (campaign.lib.routers): the
# dashboard, the open data, the exports and the nightly recounts. A task's value says whether it must first see
# everything the primary held when it began to read (the recounts, which write exact totals back).
REPLICA_READ_VIEWS = {"organizers:dashboard", "open-data-totals"}
REPLICA_READ_TASKS = {
    "organizers.exports.run_export": False,
    "petitions.tasks.reconcile_signatures": True,
    "letters.tasks.reconcile_letter_tallies": True,
    "organizers.tasks.reconcile_offline_reports": True,
}
# A replica further behind than this (what it received against what it replayed) is not read from; its state
# is checked at most this often in each process. A recount waits at most REPLICA_WAIT_SECONDS for the replica to
# replay what the primary held when it began to read, then reads the primary.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_WAIT_SECONDS = env.float("REPLICA_WAIT_SECONDS", default=10.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=5.0)
if DATABASE_REPLICA_URL:
    # Before django-axes, which asks to be last.
    MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "campaign.lib.routers.ReplicaReadsMiddleware")

# /metrics (campaign.lib.metrics): open to these networks (the client's address as TRUSTED_PROXY_COUNT says)
# and to requests with `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 403.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS must list networks such as 10.0.0.0/8 or 2001:db8::/32, not {_network!r}."
        ) from None
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters long (a random string).")
# What the metrics count as received signatures and letters, and which rollup's lag they follow (model, its
# queryset of rows waiting, their time field): campaign never imports the apps that own them, settings name them.
METRICS_RECEIVED = {"signatures": "petitions.Signature", "letters": "letters.Letter"}
METRICS_ROLLUPS = {"signatures": ("petitions.Signature", "to_count", "confirmed_at")}
# Workers load these: the mail counters of the metrics, and the replica scopes of REPLICA_READ_TASKS.
CELERY_IMPORTS = ["campaign.lib.metrics", "campaign.lib.routers"]

# Errors go to Sentry with its official SDK when SENTRY_DSN is set, without personal data (campaign.lib.metrics).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
if SENTRY_DSN:
    from campaign.lib.metrics import init_sentry

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT)
