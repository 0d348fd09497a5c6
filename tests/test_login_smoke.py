"""The shortest path through the front door: log in with password and code, see home, log out."""

from __future__ import annotations


def test_login_mfa_home_logout(auth, world):
    c = auth.login("caseworker")
    home = c.get("/")
    assert home.status_code == 200
    assert "Test caseworker" in home.get_data(as_text=True)
    token = auth.csrf(c)
    assert c.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/").status_code == 302
