"""The web UI: server-rendered Jinja2 pages and htmx fragments over the same service layer as the JSON API."""
