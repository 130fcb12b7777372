"""``facerec serve``: the REST API and web page over a gallery (``pip install 'facerec[serve]'``).

:func:`create_app` builds the FastAPI application; :class:`ServiceConfig` holds its settings. The routes live in
one module per resource under :mod:`facerec.service.routers` and call the same library functions as the command
line; errors are translated in one place (:mod:`facerec.service.errors`).
"""

from facerec.service.app import API_PREFIX, create_app
from facerec.service.config import ServiceConfig, is_loopback

__all__ = ["API_PREFIX", "ServiceConfig", "create_app", "is_loopback"]
