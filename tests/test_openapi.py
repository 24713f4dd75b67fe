"""The OpenAPI document is a valid OpenAPI 3.1 description of every /api/v1 operation, precise enough
to fuzz: a property-based run over every operation (schemathesis) finds no server error."""
import collections
import os

import pytest
from openapi_spec_validator import validate


def test_openapi_is_valid_and_describes_parameters_bodies_and_errors(app, api):
    spec = api("kq_bottled_admin").get("/openapi.json").json
    validate(spec)
    paths = spec["paths"]
    case = paths["/api/v1/cases/{case_id}"]["get"]
    assert {"name": "case_id", "in": "path", "required": True,
            "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**31 - 1}} in case["parameters"]
    versions = paths["/api/v1/data/{kind_key}/{external_id}"]["get"]["parameters"]
    assert [p["name"] for p in versions if p["in"] == "path"] == ["kind_key", "external_id"]

    records = paths["/api/v1/data/{kind_key}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    items = records["properties"]["records"]
    assert items["maxItems"] == app.config["DATA_MAX_RECORDS"] and items["minItems"] == 1
    assert {"$ref": "#/components/schemas/data_station"} in items["items"]["anyOf"]
    station = spec["components"]["schemas"]["data_station"]
    assert {"external_id", "name", "station_type"} <= set(station["required"])
    assert station["properties"]["lon"]["minimum"] == 73 and "pattern" in station["properties"]["phone"]

    readings = paths["/api/v1/readings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert readings["properties"]["readings"]["items"]["required"] == ["site", "sensor", "quantity", "value", "at"]
    start = paths["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    variants = {v["properties"]["process"]["const"]: v["properties"]["data"] for v in start["anyOf"]}
    assert variants["rectification"] == {"$ref": "#/components/schemas/rectification_issue"}
    complete = paths["/api/v1/tasks/{task_id}/complete"]["post"]
    assert "data" in complete["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "multipart/form-data" in paths["/api/v1/attachments"]["post"]["requestBody"]["content"]

    submit = paths["/api/v1/data/{kind_key}"]["post"]["responses"]
    assert {"202", "400", "401", "403", "404", "413", "422"} <= set(submit)
    error = spec["components"]["responses"]["E422"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert spec["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message", "fields"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))


# ---- fuzzing --------------------------------------------------------------------------------------
# One pytest case per (caller, operation), so a server error found in one operation can be marked on its
# own. The operations are read from the app's URL map at collection, the same source the document uses;
# none is skipped (the multipart uploads are fuzzed as multipart, from their requestBody).
FUZZ_USERS = ("kq_bottled_admin", "admin")  # an enterprise account and the city admin: the two widest views
MAX_EXAMPLES = 25
SEED = 20261125
# Server errors the seeded run once found (ids and integer arguments beyond the database's range, NUL
# characters) are fixed in web/common/params.py and web/app.py; an operation listed here would be
# xfail(strict) on exactly the database exception, so a future known error can be marked on its own.
KNOWN_SERVER_ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {}


def _api_operations() -> list[str]:
    import re
    import tempfile

    from web.api.openapi import _RULE_ARG
    from web.app import create_app

    # No database and a throwaway instance folder: only the routes are wanted here.
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setenv("GASFLOW_INSTANCE", tmp)
        flask_app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True,
                                "INPROCESS_TICKER": False}, migrate=False)
    out = []
    for rule in flask_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(_RULE_ARG, lambda m: "{" + m["name"] + "}", rule.rule)
            out += [f"{method} {path}" for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(out)


def _fuzz_params():
    from conftest import PG_URL
    from sqlalchemy.exc import DataError

    backend = "postgresql" if PG_URL else "sqlite"
    for user in FUZZ_USERS:
        for operation in _api_operations():
            reason, backends = KNOWN_SERVER_ERRORS.get(operation, ("", ()))
            marks = [pytest.mark.xfail(strict=True, reason=reason, raises=(OverflowError, DataError))
                     ] if backend in backends else []
            yield pytest.param(user, operation, marks=marks, id=f"{user}:{operation}")


@pytest.fixture(scope="module")
def fuzz_app(_session_app, _databases):
    """One seeded database for the whole fuzz run: a fresh copy for each of the ~80 operations would
    cost more than the fuzzing, and state left by one operation (cases, records) gives the next more to
    hit. The next test's ``app`` starts from the template again."""
    from web.extensions import db

    flask_app = _session_app[0]
    with flask_app.app_context():
        db.session.remove()
    _databases.restore()
    yield flask_app
    with flask_app.app_context():
        db.session.remove()


@pytest.fixture(scope="module")
def fuzz_schemas(fuzz_app):
    """Per caller, its bearer header and the document as that caller gets it (form choices differ)."""
    import schemathesis
    from conftest import Api

    loaded = {}

    def for_user(username):
        if username not in loaded:
            headers = Api(fuzz_app, username).headers
            loaded[username] = (headers, schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app,
                                                                         headers=headers))
        return loaded[username]

    return for_user


@pytest.mark.parametrize(("username", "operation"), list(_fuzz_params()))
def test_fuzzed_requests_get_no_server_error(fuzz_schemas, username, operation):
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    headers, schema = fuzz_schemas(username)
    method, path = operation.split(" ", 1)
    api_operation = schema[path][method]
    # Valid requests reach the code behind validation; invalid ones test the validation itself.
    strategy = st.one_of(api_operation.as_strategy(GenerationMode.POSITIVE),
                         api_operation.as_strategy(GenerationMode.NEGATIVE))

    @seed(SEED)
    # No shrinking: it can take minutes per failure, and the failing request is printed as a curl command.
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case):
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        # Negative cases may drop the Authorization header (a 401 then is right); with it, 401 would mean
        # the run only fuzzed the token check.
        assert response.status_code != 401 or "Authorization" not in response.request.headers, case.as_curl_command()
        case.validate_response(response, checks=[not_a_server_error])

    statuses: list[int] = []
    fuzz()
    assert any(status != 401 for status in statuses), statuses
    if os.environ.get("GASFLOW_FUZZ_REPORT"):  # with -s: how far the run got past validation, per operation
        print(operation, username, sorted(collections.Counter(statuses).items()))
