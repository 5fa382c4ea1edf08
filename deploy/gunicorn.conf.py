"""gunicorn settings for the RIS web application (gunicorn -c deploy/gunicorn.conf.py)."""

import os

wsgi_app = "ris.wsgi:application"
bind = os.environ.get("RIS_WEB_BIND", "127.0.0.1:8000")
# Two cores on a typical RIS host: two workers, a few threads each.
workers = int(os.environ.get("RIS_WEB_WORKERS", "2"))
threads = int(os.environ.get("RIS_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
accesslog = "-"
forwarded_allow_ips = os.environ.get("RIS_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
