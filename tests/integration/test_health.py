"""/readyz against the real server."""


def test_readyz_is_200_against_the_server(client):
    # pouchdb-server has no /_up (404): readiness falls back to GET /.
    assert client.simulate_get('/readyz').status_code == 200
