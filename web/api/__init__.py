"""The HTTP API under /api/v1 (docs/web.md "接口 (API)"): the CLI's use cases over HTTP."""
