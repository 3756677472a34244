"""A small HTML page at ``/devhost/``: instances, status, and a history timeline.

Every piece of user data is HTML-escaped.
"""
from __future__ import annotations

import html
import json

from aiohttp import web

from .engine import DurableEngine
from .history import EventType

_STYLE = ("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}"
          ".Failed{color:#b00}.Completed{color:#070}.Running,.Pending{color:#a60}")


def _e(value) -> str:
    if not isinstance(value, str):
        value = json.dumps(value)
    return html.escape(value, quote=True)


class Dashboard:
    def __init__(self, engine: DurableEngine) -> None:
        self.engine = engine

    def register(self, app: web.Application) -> None:
        app.router.add_get("/devhost/", self.index)
        app.router.add_get("/devhost/instances/{instance_id}", self.instance)

    async def index(self, request: web.Request) -> web.Response:
        rows = self.engine.query()
        body = ["<h1>devhost instances</h1><table><tr><th>instance</th><th>name</th>"
                "<th>status</th><th>custom status</th><th>created</th><th>updated</th></tr>"]
        for row in reversed(rows):
            iid = row["instanceId"]
            body.append(
                f"<tr><td><a href='/devhost/instances/{_e(iid)}'>{_e(iid)}</a></td>"
                f"<td>{_e(row['name'])}</td><td class='{_e(row['runtimeStatus'])}'>"
                f"{_e(row['runtimeStatus'])}</td><td>{_e(row['customStatus'])}</td>"
                f"<td>{_e(row['createdTime'])}</td><td>{_e(row['lastUpdatedTime'])}</td></tr>")
        body.append("</table>")
        return self._page("devhost", "".join(body))

    async def instance(self, request: web.Request) -> web.Response:
        iid = request.match_info["instance_id"]
        status = self.engine.status(iid)
        if status is None:
            return web.Response(status=404, text="unknown instance")
        body = [f"<p><a href='/devhost/'>all instances</a></p><h1>{_e(iid)}</h1>",
                f"<pre>{_e(json.dumps(status, indent=2))}</pre><h2>history</h2><table>"
                "<tr><th>#</th><th>timestamp</th><th>event</th><th>EventId</th>"
                "<th>details</th></tr>"]
        for index, event in enumerate(self.engine.history(iid)):
            details = {k: v for k, v in event.items()
                       if k not in ("EventType", "EventId", "Timestamp", "IsPlayed")}
            body.append(f"<tr><td>{index}</td><td>{_e(event['Timestamp'])}</td>"
                        f"<td>{_e(EventType(event['EventType']).name)}</td>"
                        f"<td>{_e(event['EventId'])}</td><td><code>{_e(details)}</code></td></tr>")
        body.append("</table>")
        return self._page(f"devhost {iid}", "".join(body))

    @staticmethod
    def _page(title: str, body: str) -> web.Response:
        return web.Response(text=f"<!doctype html><html><head><meta charset='utf-8'>"
                                 f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
                                 f"<body>{body}</body></html>", content_type="text/html")
