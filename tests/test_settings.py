"""Settings come from the environment, and unsafe defaults refuse to run in production."""

import os
import subprocess
import sys
from pathlib import Path

from django.core import checks

ROOT = Path(__file__).resolve().parent.parent
# Not passed on to the processes these tests start: what the test settings set
# (RIS_HTTPS), or the caller's environment may have.
UNSET = ("SECRET_KEY", "DEBUG", "RIS_HTTPS")


def run_django(code: str, **environment) -> subprocess.CompletedProcess:
    """Run Python with Django set up on ris.settings in a clean environment."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.pop("DATABASE_URL", None)
    env.update(DJANGO_SETTINGS_MODULE="ris.settings", **environment)
    script = f"import django; django.setup(); {code}"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_development_secret_key_refuses_to_run_with_debug_off(tmp_path):
    result = run_django("print('started')", DEBUG="0", RIS_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_real_secret_key_runs_with_debug_off(tmp_path):
    result = run_django(
        "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)",
        DEBUG="0",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="ris.example.org,10.0.0.5",
        RIS_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "False ['ris.example.org', '10.0.0.5']" in result.stdout


def test_default_database_is_an_sqlite_file_under_var_created_on_first_use(tmp_path):
    var = tmp_path / "var"
    result = run_django(
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.vendor, connection.settings_dict['NAME'])",
        DEBUG="1",
        RIS_VAR_DIR=str(var),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sqlite", str(var / "ris.sqlite3")]
    assert (var / "ris.sqlite3").exists()


def test_database_url_chooses_the_database(tmp_path):
    result = run_django(
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], d['HOST'], d['PORT'])",
        DEBUG="1",
        DATABASE_URL="postgres://ris:secret@db.example:5433/ris_prod",
        RIS_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "ris_prod",
        "db.example",
        "5433",
    ]
    assert not tmp_path.joinpath("ris.sqlite3").exists()


def test_dicom_settings_come_from_the_environment(tmp_path):
    result = run_django(
        "from django.conf import settings; print(settings.RIS_AE_TITLE, settings.RIS_DIMSE_PORT)",
        DEBUG="1",
        RIS_AE_TITLE="MAIN_RIS",
        RIS_DIMSE_PORT="4242",
        RIS_VAR_DIR=str(tmp_path),
    )
    assert result.stdout.split() == ["MAIN_RIS", "4242"]


def test_invalid_dicom_settings_fail_the_system_checks(settings):
    settings.RIS_AE_TITLE = "A_TITLE_FAR_TOO_LONG"
    settings.RIS_UID_ROOT = "1.02.3"
    settings.RIS_ACCESSION_PREFIX = "MUCH_TOO_LONG"
    ids = {error.id for error in checks.run_checks()}
    assert {"ris.E001", "ris.E002", "ris.E003"} <= ids


def test_valid_dicom_settings_pass_the_system_checks(settings):
    settings.RIS_UID_ROOT = "1.2.826.0.1.3680043.10.1234."
    assert not [error for error in checks.run_checks() if error.id.startswith("ris.")]


def test_production_settings_pass_the_deploy_check(tmp_path):
    """DEBUG off: secure cookies, HTTPS redirect, HSTS; `check --deploy` finds nothing."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{
                k: v
                for k, v in os.environ.items()
                if k not in ("DEBUG", "DATABASE_URL", "RIS_HTTPS")
            },
            "DJANGO_SETTINGS_MODULE": "ris.settings",
            "DEBUG": "0",
            "SECRET_KEY": "a-production-secret-" + "k" * 40,
            "ALLOWED_HOSTS": "ris.example.org",
            "RIS_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_https_settings_follow_debug(tmp_path):
    show = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    production = run_django(show, DEBUG="0", SECRET_KEY="x" * 50, RIS_VAR_DIR=str(tmp_path))
    assert production.stdout.split() == ["True", "True", "True", "31536000"], production.stderr
    development = run_django(show, DEBUG="1", RIS_VAR_DIR=str(tmp_path))
    assert development.stdout.split() == ["False", "False", "False", "0"], development.stderr
