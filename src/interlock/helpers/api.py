"""An HTTP client for the system under test that can act as a given role."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

__all__ = ["ApiClient", "TokenProvider"]

#: role -> headers that authenticate as that role (the project supplies it, see the plugin)
TokenProvider = Callable[[str], Mapping[str, str]]


class ApiClient:
    """``api.post(...)`` as-is, or ``api.as_role("dispatcher").post(...)`` authenticated.

    One call at a time, as a user would: fine for tests. Load runs use interlock.load.
    Clients made by ``as_role``/``with_headers`` share one connection pool.
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
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)

    @property
    def headers(self) -> dict[str, str]:
        """The headers this client adds to every request (e.g. its Authorization)."""
        return dict(self._headers)

    def with_headers(self, headers: Mapping[str, str]) -> ApiClient:
        return ApiClient(
            self.base_url,
            timeout=self.timeout,
            auth=self._auth,
            headers={**self._headers, **headers},
            http=self._http,
        )

    def as_role(self, role: str) -> ApiClient:
        if self._auth is None:
            raise RuntimeError(
                "no way to log in: define a fixture named interlock_auth in conftest.py that "
                "returns a function role -> headers"
            )
        return self.with_headers(self._auth(role))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        return self._http.request(method, path, headers=headers, **kwargs)

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
        self._http.close()
