"""Settings for the test suite: the project's own, with a test-only key.

The database is still DATABASE_URL's (SQLite by default), so one suite runs on
SQLite and on PostgreSQL.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-only-not-secret")
# The test client and the browser tests speak plain HTTP.
os.environ.setdefault("RIS_HTTPS", "0")

from ris.settings import *  # noqa: F403

# Hashing passwords slowly is a feature in production and only a cost here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

# SQLite: a test database in a file, not in memory. An in-memory database
# shared between threads has table locks that fail at once ("database table
# is locked") where a file in WAL mode waits its busy timeout, as the DICOM
# service's threads and the dispatchers do in production.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"ris-test-{os.getpid()}.sqlite3")
    }
