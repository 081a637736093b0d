"""An HTTP client for the system under test that can act as a given role."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from interlock.helpers.transport import RecoveringTransport
from interlock.lifecycle import Closing, Lifecycle

__all__ = ["ApiClient", "TokenProvider"]

#: role -> headers that authenticate as that role (the project supplies it, see the plugin)
TokenProvider = Callable[[str], Mapping[str, str]]


class _Session:
    """The connection pool and state that an ApiClient and the clients it derives share."""

    def __init__(self, base_url: str, timeout: float, http: httpx.Client | None) -> None:
        self.http = http or httpx.Client(
            base_url=base_url, timeout=timeout, transport=RecoveringTransport()
        )
        self.lifecycle = Lifecycle("the api client")


class ApiClient(Closing):
    """``api.post(...)`` as-is, or ``api.as_role("dispatcher").post(...)`` authenticated.

    One call at a time, as a user would: fine for tests. Load runs use interlock.load.
    Clients made by ``as_role``/``with_headers`` share one connection pool and one state:
    closing any of them closes all, and a closed one raises ``ClientClosed``.
    A connection the app closed (after a 500, or idle) never fails the next request; see
    ``interlock.helpers.transport`` for what is repeated and what never is.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        auth: TokenProvider | None = None,
        headers: Mapping[str, str] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._auth = auth
        self._headers = dict(headers or {})
        self._session = _Session(base_url, timeout, http)
        self._lifecycle = self._session.lifecycle

    @property
    def headers(self) -> dict[str, str]:
        """The headers this client adds to every request (e.g. its Authorization)."""
        return dict(self._headers)

    def with_headers(self, headers: Mapping[str, str]) -> ApiClient:
        """A client that adds ``headers`` to these; same pool, same state."""
        self._lifecycle.use()
        derived = ApiClient.__new__(ApiClient)
        derived.base_url, derived.timeout, derived._auth = self.base_url, self.timeout, self._auth
        derived._headers = {**self._headers, **headers}
        derived._session, derived._lifecycle = self._session, self._lifecycle
        return derived

    def as_role(self, role: str) -> ApiClient:
        """A client authenticated as ``role``; RuntimeError when the project defines no login."""
        if self._auth is None:
            raise RuntimeError(
                "no way to log in: define a fixture named interlock_auth in conftest.py that "
                "returns a function role -> headers"
            )
        return self.with_headers(self._auth(role))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """httpx's ``request`` with this client's headers; ClientClosed once closed."""
        self._lifecycle.use()
        headers = {**self._headers, **kwargs.pop("headers", {})}
        return self._session.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        """Closes the shared pool; idempotent."""
        if self._lifecycle.close():
            self._session.http.close()
