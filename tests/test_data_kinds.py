"""Every declared data kind over the API (D3): a valid record built from the kind's own field
declarations is accepted and reviewed in a data_review case, sent again changes nothing, an invalid
record is rejected by index and field, other enterprises cannot read it, and bad batches are refused."""
import pytest
from sqlalchemy import select

from forms.data_kinds import KINDS

# Who reports what: the demo bottled admin, and admins the tests add for the kinds it does not report.
REPORTERS = {"bottled": ("kq_bottled_admin", "柯桥区瓶装液化气供应有限公司"),
             "pipeline": ("yc_pipeline_admin", "越城燃气有限公司"),
             "vehicle": ("kq_vehicle_admin", "柯桥汽车加气站")}
# Someone of another enterprise, for each reporter.
OUTSIDERS = {"kq_bottled_admin": "yc_pipeline_staff", "yc_pipeline_admin": "kq_bottled_admin",
             "kq_vehicle_admin": "yc_pipeline_staff"}
WRONG_TYPE = {"int": "many", "number": "lots", "date": "someday", "datetime": "yesterday", "month": "2026-13",
              "choice": "no_such_code", "phone": "12345", "id_number": "123456789012345678",
              "plate": "ABC", "url": "not a url", "track": "999,999"}


def id_number(prefix17: str = "33060319900101123") -> str:
    """GB 11643: the check character from the weighted sum of the first 17 digits."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return prefix17 + "10X98765432"[sum(int(d) * w for d, w in zip(prefix17, weights, strict=True)) % 11]


def sample_value(spec):
    low = spec.min if spec.min is not None else 0
    high = spec.max if spec.max is not None else low + 100
    if spec.type in ("text", "longtext"):
        text = f"{spec.name}样例"
        return (text + "0" * int(low))[:max(int(low), min(len(text), int(high)))]
    if spec.type == "int":
        return int(low) + 1 if int(low) + 1 <= high else int(low)
    if spec.type == "number":
        return min(low + 1.5, high)
    return {"date": "2026-10-01", "datetime": "2026-10-01T08:30:00+08:00", "month": "2026-10", "bool": True,
            "choice": spec.choices[0][0] if spec.choices else None, "phone": "13800000000",
            "id_number": id_number(), "plate": "浙D12345", "url": "https://example.cn/stream", "stream": "rtsp://cam.example.cn/stream1",
            "urls": "https://example.cn/1.jpg https://example.cn/2.jpg",
            "track": "120.5,30.1;120.51,30.11"}[spec.type]


def sample_record(kind, external_id: str = "R-1") -> dict:
    record = {"external_id": external_id, **{f.name: sample_value(f) for f in kind.fields}}
    if kind.located:
        record.update(lon=120.5, lat=30.1)
    return record


def reporter(app, api, kind):
    """The username of an enterprise admin of an enterprise kind that reports it."""
    from models import ROLE_ENTERPRISE_ADMIN, Enterprise, User
    from web.common.security import hash_password
    from web.extensions import db

    enterprise_kind = next(k for k in REPORTERS if k in kind.enterprise_kinds)
    username, enterprise_name = REPORTERS[enterprise_kind]
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            enterprise = db.session.scalar(select(Enterprise).where(Enterprise.name == enterprise_name))
            assert enterprise.kind == enterprise_kind
            db.session.add(User(username=username, role=ROLE_ENTERPRISE_ADMIN, display_name=username,
                                password_hash=hash_password("not-used-here-1"), enterprise_id=enterprise.id,
                                county_id=enterprise.county_id))
            db.session.commit()
    return username


def test_sample_values_cover_every_declared_field_type():
    # A new field type needs a sample here, or the per-kind tests below would stop at a KeyError.
    for kind in KINDS:
        for spec in kind.fields:
            assert sample_value(spec) is not None, (kind.key, spec.name)


@pytest.mark.parametrize("kind", KINDS, ids=[k.key for k in KINDS])
def test_kind_over_the_api(app, api, kind):
    username = reporter(app, api, kind)
    owner = api(username)
    admin = api("admin")
    record = sample_record(kind)

    # A valid batch: pending, under review in a data_review case; a plausible record of an operational
    # kind (accepted automatically) is official at once, with no case.
    # (A movement of a cylinder the enterprise never registered is an exception: it waits for review.)
    auto = kind.acceptance == "auto" and kind.key != "cylinder_movement"
    status = "official" if auto else "pending"
    first = owner.post(f"/data/{kind.key}", {"records": [record]})
    assert first.status_code == 202, first.json
    assert first.json["rejected"] == [] and [a["status"] for a in first.json["accepted"]] == [status]
    if auto:
        assert first.json["case"] is None
    else:
        case = admin.get(f"/cases/{first.json['case']}").json
        assert case["process"] == "data_review", case
    versions = owner.get(f"/data/{kind.key}/R-1").json["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, status)]
    reviews = admin.get("/cases?process=data_review").json["total"]

    # The same batch again: the same answer, nothing stored, no second case.
    again = owner.post(f"/data/{kind.key}", {"records": [record]})
    assert again.status_code == 200 and again.json["resubmitted"] is True
    assert (again.json["batch"], again.json["case"]) == (first.json["batch"], first.json["case"])
    assert owner.get(f"/data/{kind.key}?status=all").json["total"] == 1
    assert admin.get("/cases?process=data_review").json["total"] == reviews

    # One valid record, one without a required field, one with a value of the wrong type.
    required = next(f for f in kind.fields if f.required)
    missing = {k: v for k, v in sample_record(kind, "R-3").items() if k != required.name}
    typed = next((f for f in kind.fields if f.type in WRONG_TYPE), None)
    batch = [sample_record(kind, "R-2"), missing]
    if typed is not None:
        batch.append({**sample_record(kind, "R-4"), typed.name: WRONG_TYPE[typed.type]})
    mixed = owner.post(f"/data/{kind.key}", {"records": batch})
    assert mixed.status_code == 202, mixed.json
    assert [(a["index"], a["status"]) for a in mixed.json["accepted"]] == [(0, status)]
    rejected = {r["index"]: r for r in mixed.json["rejected"]}
    assert sorted(rejected) == list(range(1, len(batch)))
    assert list(rejected[1]["errors"]) == [required.name] and rejected[1]["external_id"] == "R-3"
    if typed is not None:
        assert list(rejected[2]["errors"]) == [typed.name], rejected[2]
    assert owner.get(f"/data/{kind.key}/R-3").status_code == 404

    # Another enterprise neither reads the record nor lists it.
    outsider = api(OUTSIDERS[username])
    assert outsider.get(f"/data/{kind.key}/R-1").status_code == 404
    assert outsider.get(f"/data/{kind.key}?status=all").json["total"] == 0
    assert outsider.get(f"/data/{kind.key}?status=pending&external_id=R-1").json["items"] == []
    assert owner.get(f"/data/{kind.key}?status={status}").json["total"] == 2

    # One record over the limit, and a body that is not JSON.
    limit = app.config["DATA_MAX_RECORDS"]
    over = owner.post(f"/data/{kind.key}", {"records": [sample_record(kind, f"B-{i}") for i in range(limit + 1)]})
    assert over.status_code == 413 and over.json["error"]["code"] == "too_large" and "records" in \
        over.json["error"]["fields"]
    bad = owner.client.post(f"/api/v1/data/{kind.key}", data='{"records": [', headers={
        **owner.headers, "Content-Type": "application/json"})
    assert bad.status_code == 400 and set(bad.json["error"]) == {"code", "message", "fields"}
    assert owner.get(f"/data/{kind.key}?status=all").json["total"] == 2
