"""Sends a ``requests``-based peer's HubSpot traffic to the emulator (``HUBSPOT_REDIRECT``).

Put this directory on ``PYTHONPATH``; Python imports ``sitecustomize`` at start-up. Airbyte's
``source-hubspot`` 5.7.0 has its host fixed in code and manifest, so the hook rewrites the URL of
every prepared request in ``requests.adapters.HTTPAdapter.send``.
"""

import os

_TARGET = os.environ.get("HUBSPOT_REDIRECT")
_HOSTS = ("https://api.hubapi.com", "https://api.hubspot.com")
if _TARGET:
    import requests.adapters as _adapters

    _send = _adapters.HTTPAdapter.send

    def _redirected(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        for host in _HOSTS:
            if request.url.startswith(host):
                request.url = _TARGET.rstrip("/") + request.url[len(host) :]
                break
        return _send(self, request, *args, **kwargs)

    _adapters.HTTPAdapter.send = _redirected
