"""Transfers between villages and the isolation of child records (API and row-level security alone)."""

from __future__ import annotations

import pytest

from tests.test_children_api import (
    COUNTY,
    SIBLING_COUNTY_VILLAGE,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    child_payload,
    make_id,
)

OTHER_TOWNSHIP_VILLAGE = "440203002001"


@pytest.fixture
def staff(make_user, token_for):
    """staff(unit_code) -> (user, headers), one user per unit."""
    cache = {}

    def get(unit: str, role: str = "staff"):
        if (unit, role) not in cache:
            user = make_user(unit, role)
            cache[(unit, role)] = (user, token_for(user.username))
        return cache[(unit, role)]

    return get


@pytest.fixture
def child(client, staff):
    def make(unit=VILLAGE, **overrides):
        response = client.post("/api/v1/children", json=child_payload(**overrides), headers=staff(unit)[1])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.mark.parametrize("target", [SIBLING_VILLAGE, OTHER_TOWNSHIP_VILLAGE, SIBLING_COUNTY_VILLAGE])
def test_transfer_receiver_sees_only_request_until_accepted(client, staff, child, target):
    body = child()
    url = f"/api/v1/children/{body['id']}"
    sender, receiver = staff(VILLAGE)[1], staff(target)[1]
    response = client.post(f"{url}/transfer", json={"to_village": target, "reason": "随祖父母迁居"},
                           headers=sender)
    assert response.status_code == 201, response.get_json()
    transfer = response.get_json()
    assert transfer["status"] == "requested" and transfer["from_village"] == VILLAGE
    # The receiver sees the request (name and masked ID), not the record.
    incoming = client.get("/api/v1/transfers?direction=incoming", headers=receiver).get_json()["items"]
    assert [(t["id"], t["child_name"], t["id_number"]) for t in incoming] == [
        (transfer["id"], "李小明", make_id()[:6] + "********" + make_id()[-4:])]
    assert client.get(url, headers=receiver).status_code == 404
    assert client.get("/api/v1/children", headers=receiver).get_json()["total"] == 0
    # Only the receiver decides.
    assert client.post(f"/api/v1/transfers/{transfer['id']}/accept", headers=sender).status_code == 403
    accepted = client.post(f"/api/v1/transfers/{transfer['id']}/accept", headers=receiver)
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    # Now the receiver owns the child and its history; the sender no longer sees it.
    record = client.get(url, headers=receiver).get_json()
    assert record["village_code"] == target and record["version"] == 2
    history = client.get(f"{url}/history", headers=receiver).get_json()
    assert [h["action"] for h in history] == ["create", "transfer"]
    assert history[1]["changes"] == {"region_code": [VILLAGE, target]}
    assert client.get(url, headers=sender).status_code == 404
    patched = client.patch(url, json={"version": 2, "school_name": "新学校"}, headers=receiver)
    assert patched.status_code == 200
    # Both villages still see the (decided) transfer.
    outgoing = client.get("/api/v1/transfers?direction=outgoing", headers=sender).get_json()["items"]
    assert [t["status"] for t in outgoing] == ["accepted"]
    assert client.post(f"/api/v1/transfers/{transfer['id']}/accept", headers=receiver).status_code == 409


def test_transfer_reject_and_cancel_leave_the_child(client, staff, child):
    body = child()
    url = f"/api/v1/children/{body['id']}"
    sender, receiver = staff(VILLAGE)[1], staff(SIBLING_VILLAGE)[1]
    first = client.post(f"{url}/transfer", json={"to_village": SIBLING_VILLAGE}, headers=sender).get_json()
    again = client.post(f"{url}/transfer", json={"to_village": SIBLING_VILLAGE}, headers=sender)
    assert again.status_code == 409
    rejected = client.post(f"/api/v1/transfers/{first['id']}/reject", headers=receiver)
    assert rejected.get_json()["status"] == "rejected"
    second = client.post(f"{url}/transfer", json={"to_village": SIBLING_VILLAGE}, headers=sender).get_json()
    assert client.post(f"/api/v1/transfers/{second['id']}/cancel", headers=receiver).status_code == 403
    assert client.post(f"/api/v1/transfers/{second['id']}/cancel", headers=sender).get_json()["status"] == \
        "cancelled"
    assert client.get(url, headers=sender).get_json()["village_code"] == VILLAGE
    assert client.get(url, headers=receiver).status_code == 404


def test_transfer_target_validation(client, staff, child):
    body = child()
    url = f"/api/v1/children/{body['id']}/transfer"
    sender = staff(VILLAGE)[1]
    for target in ("440203001", VILLAGE, "440203001999", "340604001001"):
        response = client.post(url, json={"to_village": target}, headers=sender)
        assert response.status_code == 422, target
        assert "to_village" in response.get_json()["errors"]
    # Only the child's own village requests it.
    township = staff(TOWNSHIP)[1]
    assert client.post(url, json={"to_village": SIBLING_VILLAGE}, headers=township).status_code == 403


def test_unrelated_village_does_not_see_transfer(client, staff, child):
    body = child()
    client.post(f"/api/v1/children/{body['id']}/transfer", json={"to_village": SIBLING_VILLAGE},
                headers=staff(VILLAGE)[1])
    bystander = staff(OTHER_TOWNSHIP_VILLAGE)[1]
    assert client.get("/api/v1/transfers", headers=bystander).get_json()["items"] == []
    county = staff(COUNTY, "viewer")[1]
    assert len(client.get("/api/v1/transfers", headers=county).get_json()["items"]) == 1


# --- isolation ----------------------------------------------------------------------------------------

def test_village_never_sees_sibling_child_via_api(client, staff, child):
    body = child()
    sibling = staff(SIBLING_VILLAGE)[1]
    url = f"/api/v1/children/{body['id']}"
    assert client.get(url, headers=sibling).status_code == 404
    assert client.patch(url, json={"version": 1, "reviewer": "x"}, headers=sibling).status_code == 404
    assert client.get(f"{url}/history", headers=sibling).status_code == 404
    assert client.get(f"{url}/history/1", headers=sibling).status_code == 404
    assert client.get("/api/v1/children", headers=sibling).get_json()["total"] == 0
    assert client.get(f"/api/v1/children?unit={VILLAGE}", headers=sibling).status_code == 404


def test_county_never_sees_sibling_county_child_via_api(client, staff, child):
    body = child()
    other = staff(SIBLING_COUNTY_VILLAGE)
    theirs = child(unit=SIBLING_COUNTY_VILLAGE, id_number=make_id("20160301", "033", "440204"))
    own_county, sibling_county = staff(COUNTY, "viewer")[1], staff("440204", "viewer")[1]
    assert [i["id"] for i in client.get("/api/v1/children", headers=own_county).get_json()["items"]] == [
        body["id"]]
    assert [i["id"] for i in client.get("/api/v1/children", headers=sibling_county).get_json()["items"]] == [
        theirs["id"]]
    assert client.get(f"/api/v1/children/{body['id']}", headers=sibling_county).status_code == 404
    assert client.get(f"/api/v1/children/{theirs['id']}", headers=own_county).status_code == 404
    assert other[0].region_code == SIBLING_COUNTY_VILLAGE


def test_isolation_through_rls_alone(client, staff, child, scoped_sql):
    body = child()
    client.get(f"/api/v1/children/{body['id']}", headers=staff(VILLAGE)[1])  # an audit row
    theirs = child(unit=SIBLING_COUNTY_VILLAGE, id_number=make_id("20160301", "033", "440204"))
    client.get(f"/api/v1/children/{theirs['id']}", headers=staff(SIBLING_COUNTY_VILLAGE)[1])
    client.post(f"/api/v1/children/{body['id']}/transfer", json={"to_village": SIBLING_VILLAGE},
                headers=staff(VILLAGE)[1])
    for table in ("children", "child_changes", "audit_events"):
        key = "id" if table == "children" else "child_id"
        # Only this test's two children: rows that other tests committed (probe audits) are not its business.
        sql = f"SELECT DISTINCT {key} FROM {table} WHERE {key} IN ({body['id']}, {theirs['id']})"
        assert {r[0] for r in scoped_sql(VILLAGE, sql)} == {body["id"]}, table
        assert {r[0] for r in scoped_sql(SIBLING_VILLAGE, sql)} == set(), table
        assert {r[0] for r in scoped_sql(COUNTY, sql)} == {body["id"]}, table
        assert {r[0] for r in scoped_sql("440204", sql)} == {theirs["id"]}, table
        assert {r[0] for r in scoped_sql("4402", sql)} == {body["id"], theirs["id"]}, table
        assert scoped_sql(None, sql) == [], table
    # The transfer row: both ends and their ancestors, nobody else.
    sql = "SELECT child_id FROM child_transfers"
    assert [r[0] for r in scoped_sql(SIBLING_VILLAGE, sql)] == [body["id"]]
    assert [r[0] for r in scoped_sql(VILLAGE, sql)] == [body["id"]]
    assert scoped_sql("440203002001", sql) == []
    assert scoped_sql("440204", sql) == []
    # RLS refuses writes outside the scope, even by id.
    updated = scoped_sql(SIBLING_VILLAGE, "UPDATE children SET name = 'x' WHERE id = :id RETURNING id",
                         id=body["id"])
    assert updated == []


def test_child_tables_are_under_forced_rls(scoped_sql):
    rows = scoped_sql(None, "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                            "WHERE relname IN ('children', 'child_changes', 'child_transfers', 'audit_events')")
    assert sorted(tuple(r) for r in rows) == [(name, True, True) for name in
                                             sorted(("children", "child_changes", "child_transfers",
                                                     "audit_events"))]


def test_county_staff_may_correct_and_the_change_is_attributed(client, staff, child):
    body = child()
    county_user, county = staff(COUNTY)
    url = f"/api/v1/children/{body['id']}"
    assert client.patch(url, json={"version": 1, "ethnicity": "瑶族"}, headers=county).status_code == 200
    history = client.get(f"{url}/history", headers=county).get_json()
    assert history[-1]["changed_by_id"] == county_user.id
    assert history[-1]["changes"] == {"ethnicity": ["汉族", "瑶族"]}
