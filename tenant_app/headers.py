"""Security headers on every response.

The policy follows what the pages need: scripts only from our own static files (no inline script, no eval:
ECharts' only `new Function` is a fallback for browsers without JSON.parse), JSON data blocks in
`<script type="application/json">` (data, not script, so the policy does not apply to them). Styles allow
inline: pages draw meters with computed `style="width: …"` and ECharts writes its tooltips as HTML with style
attributes; styles cannot run code. Nothing may frame the pages.
"""

from __future__ import annotations

from flask import Flask

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


_LOWER = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS.items())


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        # Those the response has not set already (a view may set its own), as `setdefault` would, with one pass
        # over the response's few headers instead of one per security header.
        headers = response.headers
        present = {name.lower() for name, _ in headers.to_wsgi_list()}
        for lower, name, value in _LOWER:
            if lower not in present:
                headers.add(name, value)
        return response
