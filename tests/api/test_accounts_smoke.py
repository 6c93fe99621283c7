from tests.fixtures.accounts import PASSWORD


def test_register_login_me(client, user):
    me = client.get("/api/auth/me").json()["user"]
    assert me["credits"] == 50 and me["email"] == user["email"]
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    r = client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 200
    assert client.get("/api/auth/me").status_code == 200
