"""``chavder status`` with ``redis_url``: the frontier's state in one line (and in ``--json``):
who is the controller, how many workers are alive, what is queued."""
from __future__ import annotations

from typing import Any

from crawler.scaleout.connection import connect, outage_errors, shown
from crawler.scaleout.frontier import Frontier
from crawler.scaleout.lease import ControllerLease, holder_line


def frontier_status(url: str) -> dict[str, Any]:
    """The frontier at ``url``: reachable, controller, live workers, queue sizes."""
    try:
        client = connect(url)
        frontier = Frontier(client)
        holder = ControllerLease(client, url).holder()
        workers = sum(1 for _ in client.scan_iter(match=frontier.heartbeat_key("*"), count=500))
        return {"url": shown(url), "reachable": True, "controller": holder,
                "workers": workers, **frontier.sizes()}
    except outage_errors() as exc:
        return {"url": shown(url), "reachable": False, "error": " ".join(str(exc).split())}


def status_line(state: dict[str, Any]) -> str:
    if not state.get("reachable"):
        return f"frontier: Redis at {state['url']} is unreachable ({state.get('error', '?')})"
    controller = (f"controller {holder_line(state['controller'])}" if state.get("controller")
                  else "no controller")
    return (f"frontier: {state['url']} — {controller}; {state['workers']} worker(s) alive; "
            f"{state['jobs']} job(s) and {state['articles']} article URL(s) queued, "
            + (f"{state['ingest']} handed-over article(s) waiting for the controller's store, "
               if state.get("ingest") else "")
            + f"{state['active_jobs']} source(s) crawling")
