# Plume. `make run` starts the whole platform on the embedded default; `make test` runs every test.
# Both create .venv and install the pinned requirements first.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# The test suite runs on PostgreSQL and Redis, as production does.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/plume
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: run test test-fast lint format messages makemessages bench superuser clean

$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

# Compiled translations are built, not committed.
messages: $(BIN)/.installed
	@for dir in locale */locale; do [ ! -d "$$dir" ] || $(BIN)/pybabel -q compile --directory "$$dir" --domain django; done

# The demo, with debug pages: DEBUG is off unless asked for. Without SECRET_KEY it answers on loopback only.
run: export DEBUG := true
run: $(BIN)/.installed messages
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --with-demo-users
	@echo ""
	@echo "  Plume is starting (web, Celery worker and beat). Stop it with Ctrl+C."
	@echo "  Site:        http://127.0.0.1:$(PORT)/"
	@echo "  Admin:       http://127.0.0.1:$(PORT)/admin/  (users admin, moderator, organizer; password plume-demo-password)"
	@echo "  Dashboard:   http://127.0.0.1:$(PORT)/en/staff/  (organizers: totals, exports, partner counter)"
	@echo "  Health:      http://127.0.0.1:$(PORT)/healthz"
	@echo "  Mail:        printed below by the worker, links included"
	@echo ""
	@# Links in mails point at the port the demo serves, unless SITE_URL says otherwise.
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/honcho start --procfile Procfile --port $(PORT)

test: $(BIN)/.installed messages lint
	@# Against the server's maintenance database: the check only needs a PostgreSQL to connect to.
	DATABASE_URL=$(dir $(TEST_DATABASE_URL))postgres REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest --durations=15 $(PYTEST_ARGS)

# The fast part alone (no Chromium, no Celery worker, no other processes): about a minute, for the edit-test loop.
test-fast: $(BIN)/.installed messages
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -m "not browser and not worker and not subprocess" $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# For developers who add strings: needs GNU gettext (apt-get install gettext).
makemessages: $(BIN)/.installed
	$(BIN)/python manage.py makemessages --all --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	$(BIN)/python manage.py makemessages --all --domain djangojs --ignore '.venv/*' --ignore 'var/*' --no-obsolete

bench: $(BIN)/.installed messages
	bash bench/run

superuser: $(BIN)/.installed
	$(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) var
