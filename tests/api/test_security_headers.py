"""Security headers on every answer: strict CSP, no framing, no sniffing, a quiet Referer, and HSTS
only when the desk is served over https."""

from __future__ import annotations

from tests.api.conftest import ApiFactory


async def test_pages_and_api_answers_carry_the_security_headers(api_client_for: ApiFactory) -> None:
    async with api_client_for() as client:
        for path in ("/login", "/api/v1/requests", "/static/app.js", "/no-such-page"):
            response = await client.get(path)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp, path
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert "strict-transport-security" not in response.headers  # plain http: no HSTS
        docs = await client.get("/docs")
        assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]  # the docs' own CDN only there


async def test_hsts_when_served_over_https(api_client_for: ApiFactory) -> None:
    async with api_client_for(public_url="https://desk.utility.example") as client:
        response = await client.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
