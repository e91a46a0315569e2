"""The OpenAPI description, and a bounded schemathesis run against the live service: no 5xx."""

from __future__ import annotations

from typing import Any

import pytest

EXAMPLES_PER_OPERATION = 6


def test_openapi_describes_every_route(http: Any) -> None:
    spec = http.get("/openapi.json").json()
    assert spec["info"]["title"] == "Quake Expedition partner service"
    paths = set(spec["paths"])
    assert {
        "/v1/query", "/v1/tables", "/v1/queries", "/v1/queries/{name}", "/v1/expeditions",
        "/v1/expeditions/{expedition_id}", "/v1/expeditions/{expedition_id}/brief",
        "/v1/expeditions/{expedition_id}/surveys/{kind}", "/fdsnws/event/1/query", "/fdsnws/event/1/version",
        "/fdsnws/event/1/application.wadl", "/fdsnws/event/1/catalogs", "/fdsnws/event/1/contributors",
    } <= paths
    scheme = spec["components"]["securitySchemes"]["PartnerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert spec["paths"]["/v1/query"]["post"]["security"] == [{"PartnerToken": []}]
    fdsn_params = {p["name"] for p in spec["paths"]["/fdsnws/event/1/query"]["get"]["parameters"]}
    assert {"starttime", "minmagnitude", "maxradius", "eventid", "orderby", "nodata"} <= fdsn_params


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors(api_server: Any, api_world: Any) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_url(api_server.url + "/openapi.json")
    headers = api_world.auth("chn")
    failures: list[str] = []
    seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            nonlocal seen
            response = case.call(base_url=api_server.url, headers=headers, timeout=30)
            seen += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}")

        check()
    assert seen >= 13 * 2, seen  # every operation was exercised
    assert failures == []
