"""The web workspace and the HTTP API (docs/web.md): FastAPI on the same services as the CLI.

- `web/app.py` builds the application (`create_app`), owns the error mapping and the health
  endpoint; each room adds its router there with one line.
- `web/deps.py`: what every route takes (the context, the clock, the acting user).
- Rooms: `web/auth.py` (login, logout, password, CSRF), `web/pages/` (the HTML workspace),
  `web/api/` (REST under /api/v1).
"""
