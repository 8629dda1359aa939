"""``/healthz`` and ``/readyz``: the load balancer's view of a desk process and its database."""

from __future__ import annotations

from extranet_intake.desk.app import create_app
from extranet_intake.provisioning.engines import make_engine
from tests.web.conftest import SECRET, desk_config, make_client


def test_readyz_says_not_ready_on_a_database_without_the_schema(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        app = create_app(desk_config(empty_db_url), secret=SECRET, engine=engine)
        with make_client(app) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "database-schema-outdated"
    finally:
        engine.dispose()


def test_readyz_says_not_ready_when_the_database_is_gone(tmp_path: object) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens on port 1
    engine = make_engine(url, connect_args={"connect_timeout": 2})
    app = create_app(desk_config(url), secret=SECRET, engine=engine)
    with make_client(app) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "database-unreachable", "error": "OperationalError"}
