"""``/status`` as a small read-only HTML page: no scripts, no forms, every value escaped.

Every interpolated value goes through :func:`html.escape` (quotes included), and the final page
through :func:`mlc.logs.redact`; the server adds a Content-Security-Policy that forbids scripts,
so even a value that got past both could not run.
"""

from __future__ import annotations

from html import escape

from mlc.logs import redact
from mlc.ops.status import FlowStatus, RunSummary, ServiceStatus

_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}.failed,.down,.interrupted{color:#b00}.succeeded,.up{color:#070}"
    "code{font-size:13px}"
)


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p><em>{_e(empty)}</em></p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status_cell(status: str) -> str:
    return f'<span class="{_e(status)}">{_e(status)}</span>'


def _flows(flows: list[FlowStatus]) -> str:
    rows = []
    for flow in flows:
        last = flow.last_runs[0] if flow.last_runs else None
        rows.append(
            [
                f'<a href="#flow-{_e(flow.name)}">{_e(flow.name)}</a>',
                _e(flow.kind),
                f"{_e(flow.source)} &rarr; {_e(flow.target)}",
                _e(flow.state) + (f" (pending: {_e(flow.pending)})" if flow.pending else ""),
                _status_cell(last.status) if last else "",
                _e(flow.last_success_at or "never"),
                "<br>".join(_e(t) for t in flow.next_fire_times) or "on demand",
            ]
        )
    return _table(
        ["flow", "kind", "path", "state", "last run", "last success", "next fire times"],
        rows,
        "no flows configured",
    )


def _runs(runs: list[RunSummary]) -> str:
    rows = [
        [
            _e(run.id),
            _e(run.trigger),
            _status_cell(run.status),
            _e(run.started_at),
            _e(run.duration_seconds),
            _e(run.counts.read),
            _e(run.counts.mapped),
            _e(run.counts.quarantined),
            _e(run.counts.loaded),
            _e(run.counts.failed),
            _e(run.error),
        ]
        for run in runs
    ]
    headers = ["run", "trigger", "status", "started", "seconds", "read", "mapped"]
    headers += ["quarantined", "loaded", "failed", "error"]
    return _table(headers, rows, "no runs yet")


def _flow_detail(flow: FlowStatus) -> str:
    parts = [
        f'<h2 id="flow-{_e(flow.name)}">{_e(flow.name)}</h2>',
        "<p>schedule: " + ("; ".join(_e(s) for s in flow.schedule) or "on demand only") + "</p>",
        _runs(flow.last_runs),
    ]
    if flow.quarantined_total:
        parts.append(
            f"<h3>quarantined records ({_e(flow.quarantined_total)}, "
            f"showing {_e(len(flow.quarantined))})</h3>"
        )
        parts.append(
            _table(
                ["run", "record", "stage", "reason"],
                [
                    [_e(q.run_id), f"<code>{_e(q.record_key)}</code>", _e(q.stage), _e(q.error)]
                    for q in flow.quarantined
                ],
                "",
            )
        )
    return "".join(parts)


def render_html(status: ServiceStatus) -> str:
    connections = _table(
        ["connection", "status", "failures in a row", "token expires", "last error"],
        [
            [
                _e(c.name),
                _status_cell(c.status),
                _e(c.consecutive_failures),
                _e(c.token_expires_at),
                _e(c.last_error),
            ]
            for c in status.connections
        ],
        "no connection health reported",
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="30">'
        f"<title>ml-connector status</title><style>{_STYLE}</style></head><body>"
        f"<h1>ml-connector {_e(status.version)}</h1>"
        f"<p>state: <strong>{_e(status.state)}</strong>; started {_e(status.started_at)}; "
        f"generated {_e(status.generated_at)} (UTC)</p>"
        f"<h2>flows</h2>{_flows(status.flows)}"
        f"<h2>connections</h2>{connections}"
        + "".join(_flow_detail(flow) for flow in status.flows)
        + "</body></html>\n"
    )
    return redact(page)
