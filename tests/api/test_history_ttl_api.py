"""An admin sets how long a process keeps finished instances over the API (days, or null for ever);
others get 403; a bad value 422 naming `days`; an unknown process 404."""

from __future__ import annotations

from tests.conftest import Api

PATH = "/api/v1/admin/process-definitions/{key}/history-ttl"


def test_admins_set_the_retention_and_others_may_not(api: Api) -> None:
    path = PATH.format(key="lead_qualification")
    try:
        answer = api.call("PUT", "admin", path, json={"days": 400})
        assert answer.status_code == 200 and answer.get_json() == {"key": "lead_qualification", "days": 400}
        assert api.call("PUT", "cs_sup", path, json={"days": 1}).status_code == 403
        for body in ({"days": 0}, {"days": "400"}, {}, {"days": 100_000}):
            refused = api.call("PUT", "admin", path, json=body)
            assert refused.status_code == 422 and "days" in refused.get_json()["fields"], body
        assert api.call("PUT", "admin", PATH.format(key="no_such_process"), json={"days": 5}).status_code == 404
    finally:
        cleared = api.call("PUT", "admin", path, json={"days": None})  # the shared demo process keeps history for ever again
        assert cleared.status_code == 200 and cleared.get_json()["days"] is None
