"""The day board's cost on the server, by the number of steps on the day.

For each size (steps on today's board), this script seeds a fresh PostgreSQL
database ris_bench_web with `seed_demo` (today only), signs a scheduler in with
Django's test client (in process: the server's work without a network), and
times, medians of --runs after warm-up:

- the whole board page (GET /),
- a poll when something changed (200, the board's fragment),
- a poll when nothing changed (204): what every open board costs every
  RIS_WEB_BOARD_REFRESH seconds (default 5),

with the number of SQL queries of each.

    .venv/bin/python bench/web_board.py [--sizes 100,400,1000] [--runs 31]

Only the database named in --database-url (its name must contain "bench") is
dropped and created, and dropped again at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

PROJECT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,400,1000")
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/ris_bench_web"
    )
    options = parser.parse_args()
    name = urlsplit(options.database_url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit("the database's name must contain 'bench': it is dropped")
    print(f"{'steps':>6} {'page ms':>8} {'poll 200 ms':>12} {'poll 204 ms':>12} {'queries':>14}")
    for size in (int(value) for value in options.sizes.split(",")):
        _recreate(options.database_url, name)
        env = {**os.environ, "DATABASE_URL": options.database_url, "DEBUG": "0"}
        env.setdefault("SECRET_KEY", "bench-only-not-secret")
        manage = [sys.executable, str(PROJECT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=PROJECT)
        # As in production: hashed static file names from the manifest.
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, cwd=PROJECT
        )
        subprocess.run(
            [*manage, "seed_demo", "--procedures", str(size), "--days", "1", "--seed", "1"],
            env=env,
            check=True,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
        )
        result = subprocess.run(
            [sys.executable, __file__, "--measure", str(options.runs)],
            env=env,
            check=True,
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            text=True,
        )
        print(f"{size:>6} {result.stdout.strip()}")
    _drop(options.database_url, name)


def measure(runs: int) -> None:
    """In the seeded database: sign in, warm up, time the three requests."""
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ris.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from ris.web import roles
    from ris.web.roles import user_assign_roles

    settings.ALLOWED_HOSTS = ["testserver"]
    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user_assign_roles(user, [roles.SCHEDULER])
    client = Client()
    client.force_login(user)
    current = client.get("/", {"modality": ""}, headers={"X-Board-Version": "-"})
    version = current["X-Board-Version"]
    requests = {
        "page": lambda: client.get("/"),
        "changed": lambda: client.get("/", headers={"X-Board-Version": "stale"}),
        "unchanged": lambda: client.get("/", headers={"X-Board-Version": version}),
    }
    figures, queries = {}, {}
    for label, request in requests.items():
        for _ in range(5):
            request()
        timings = []
        for _ in range(runs):
            begin = time.perf_counter()
            request()
            timings.append((time.perf_counter() - begin) * 1000)
        figures[label] = statistics.median(timings)
        with CaptureQueriesContext(connection) as captured:
            request()
        queries[label] = len(captured)
    print(
        f"{figures['page']:>8.1f} {figures['changed']:>12.1f} {figures['unchanged']:>12.1f}"
        f" {queries['page']:>4}/{queries['changed']}/{queries['unchanged']:<4}"
    )


def _recreate(url: str, name: str) -> None:
    _drop(url, name)
    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def _drop(url: str, name: str) -> None:
    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(int(sys.argv[2]))
    else:
        main()
