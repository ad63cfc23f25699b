"""Sign-in: users and roles, JWTs for the API (OAuth2 password flow), an HttpOnly cookie for the UI."""
