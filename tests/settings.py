"""Settings for the test suite: the project's own, with a test-only key.

The database is still DATABASE_URL's (SQLite by default), so one suite runs on
SQLite and on PostgreSQL.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-only-not-secret")

from ris.settings import *  # noqa: F403

# Hashing passwords slowly is a feature in production and only a cost here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
