"""The database made unreachable for a while, for the tests of what the RIS does then."""

import copy
import socket
from contextlib import contextmanager

from django.db import connection


@contextmanager
def database_unreachable():
    """The default connection pointed at a database that cannot be reached: a
    file in a folder that does not exist (SQLite), a port nobody listens on
    (PostgreSQL, its pool closed so that a new one is made, with a short wait)."""
    saved = copy.deepcopy(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.close_pool()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            connection.settings_dict["PORT"] = probe.getsockname()[1]
        connection.settings_dict["HOST"] = "127.0.0.1"
        if "pool" in connection.settings_dict["OPTIONS"]:
            connection.settings_dict["OPTIONS"]["pool"] = {
                "min_size": 1,
                "max_size": 1,
                "timeout": 1,
            }
    else:
        connection.settings_dict["NAME"] = "/nonexistent-folder/ris.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        if connection.vendor == "postgresql":
            connection.close_pool()  # the next request opens a pool on the restored settings
