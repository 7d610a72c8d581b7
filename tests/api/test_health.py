def test_healthz_names_the_database_in_use(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] in {"sqlite", "postgresql"}


def test_unknown_route_has_the_common_error_shape(client) -> None:
    r = client.get("/v1/nowhere")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
