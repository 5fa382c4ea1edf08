"""ASGI entry point (uvicorn ris.asgi:application): the web and the REST API
over HTTP, and the UPS-RS event channel over WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ris.settings")

# Django first: the WebSocket routes import models.
http_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from ris.upsrs.websocket import TokenAuthMiddleware, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        # A browser signed in to the RIS comes with its session cookie; any
        # other client with its API token in the Authorization header.
        "websocket": AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
