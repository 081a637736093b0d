"""The HTTP control API of a FaultServer, in Toxiproxy's shape.

    GET    /proxies                       every proxy, by name
    POST   /proxies                       add one: {"name", "upstream", "listen"?, "enabled"?}
    GET    /proxies/{proxy}               one proxy and its toxics
    POST   /proxies/{proxy}               {"enabled": false} takes it down, true brings it up
    DELETE /proxies/{proxy}               remove it
    GET    /proxies/{proxy}/toxics        its toxics
    POST   /proxies/{proxy}/toxics        add one: {"type", "name"?, "stream"?, "toxicity"?,
                                          "attributes"?, "every"?, "duration"?}
    GET    /proxies/{proxy}/toxics/{name} one toxic
    DELETE /proxies/{proxy}/toxics/{name} remove it
    POST   /reset                         every proxy up, every toxic gone

Errors answer ``{"error": message, "status": code}``, the status the error carries (see
:mod:`interlock.faults.errors`): 400 for a body that is not JSON or a value that is
refused, 404 for an unknown name, 409 for a name already taken, 503 for a proxy that
cannot listen on its port. They are mapped here, once; the proxies only raise.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, final

from aiohttp import web
from aiohttp.typedefs import Handler

from interlock.errors import ConfigError
from interlock.faults.errors import FaultError
from interlock.faults.proxy import Proxy, parse_address
from interlock.faults.toxics import Toxic

if TYPE_CHECKING:
    from interlock.faults.server import FaultServer

__all__ = ["build_app"]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except FaultError as exc:
        return _json({"error": str(exc), "status": exc.status}, exc.status)
    except ConfigError as exc:
        return _json({"error": str(exc), "status": 400}, 400)
    return response


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaultError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FaultError("request body must be a JSON object")
    return data


@final
class _Control:
    def __init__(self, faults: FaultServer) -> None:
        self.faults = faults

    def _proxy(self, request: web.Request) -> Proxy:
        return self.faults[request.match_info["proxy"]]

    async def list_proxies(self, request: web.Request) -> web.Response:
        return _json({name: proxy.to_dict() for name, proxy in self.faults.proxies.items()})

    async def create_proxy(self, request: web.Request) -> web.Response:
        data = await _body(request)
        unknown = set(data) - {"name", "upstream", "listen", "enabled"}
        if unknown:
            raise FaultError(
                f"unknown proxy field {', '.join(sorted(unknown))} "
                f"(known: name, upstream, listen, enabled)",
            )
        if "upstream" not in data:
            raise FaultError('a proxy needs an upstream, e.g. "127.0.0.1:5432"')
        _, port = parse_address(data.get("listen", "127.0.0.1:0"))
        proxy = await self.faults.add_proxy(data.get("name"), data["upstream"], port=port)
        if data.get("enabled") is False:
            proxy.disable()
        return _json(proxy.to_dict(), 201)

    async def get_proxy(self, request: web.Request) -> web.Response:
        return _json(self._proxy(request).to_dict())

    async def update_proxy(self, request: web.Request) -> web.Response:
        proxy, data = self._proxy(request), await _body(request)
        if set(data) != {"enabled"} or not isinstance(data["enabled"], bool):
            raise FaultError('a proxy update is {"enabled": true} or {"enabled": false}')
        if data["enabled"]:
            proxy.enable()
        else:
            proxy.disable()
        return _json(proxy.to_dict())

    async def delete_proxy(self, request: web.Request) -> web.Response:
        await self.faults.remove_proxy(self._proxy(request).name)
        return web.Response(status=204)

    async def list_toxics(self, request: web.Request) -> web.Response:
        return _json([toxic.to_dict() for toxic in self._proxy(request).toxics()])

    async def create_toxic(self, request: web.Request) -> web.Response:
        proxy, toxic = self._proxy(request), Toxic.from_dict(await _body(request))
        return _json(proxy.add_toxic(toxic).to_dict())

    async def get_toxic(self, request: web.Request) -> web.Response:
        proxy = self._proxy(request)
        return _json(proxy.get_toxic(request.match_info["name"]).to_dict())

    async def delete_toxic(self, request: web.Request) -> web.Response:
        proxy = self._proxy(request)
        proxy.remove_toxic(request.match_info["name"])
        return web.Response(status=204)

    async def reset(self, request: web.Request) -> web.Response:
        self.faults.reset()
        return web.Response(status=204)


def build_app(faults: FaultServer) -> web.Application:
    control = _Control(faults)
    app = web.Application(middlewares=[_errors])
    app.router.add_routes(
        [
            web.get("/proxies", control.list_proxies),
            web.post("/proxies", control.create_proxy),
            web.get("/proxies/{proxy}", control.get_proxy),
            web.post("/proxies/{proxy}", control.update_proxy),
            web.delete("/proxies/{proxy}", control.delete_proxy),
            web.get("/proxies/{proxy}/toxics", control.list_toxics),
            web.post("/proxies/{proxy}/toxics", control.create_toxic),
            web.get("/proxies/{proxy}/toxics/{name}", control.get_toxic),
            web.delete("/proxies/{proxy}/toxics/{name}", control.delete_toxic),
            web.post("/reset", control.reset),
        ]
    )
    return app
