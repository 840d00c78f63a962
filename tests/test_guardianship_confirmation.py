"""The entrusted guardianship confirmation (委托监护责任确认书): printed from the child record (a full read,
audited), the signing day recorded on the record through its history, refused for a reader or a future day,
hidden from a sibling village, and the left-behind children with a signed confirmation counted by the roll-up."""

from __future__ import annotations

from datetime import timedelta

from tenant_app import clock
from tests import cases_factories
from tests.cases_factories import COUNTY, SIBLING_VILLAGE, VILLAGE

person = cases_factories.person
new_child = cases_factories.new_child


def _page(client, child_id: int):
    return client.get(f"/children/{child_id}/guardianship-confirmation")


def test_the_printed_confirmation_carries_the_record_and_is_an_audited_read(client, make_user, login, new_child,
                                                                            scoped_sql):
    child = new_child(seq="081", father_phone="13900002222")
    login(client, make_user(VILLAGE, "staff", real_name="王主任").username)
    page = _page(client, child["id"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("委托监护责任确认书", "李小明", "李爷爷", "祖父", "13800001111", "深圳", "13900002222",
                 "不让儿童辍学", "王主任", 'id="confirmation-form"', "print.css"):
        assert text in html, text
    reads = scoped_sql(VILLAGE, "SELECT count(*) FROM audit_events WHERE child_id = :c AND purpose LIKE :p",
                       c=child["id"], p="%guardianship confirmation%")[0][0]
    assert reads == 1
    english = client.get(f"/children/{child['id']}/guardianship-confirmation?lang=en").get_data(as_text=True)
    assert "Duties of the entrusted guardian" in english
    # The record's page leads to it.
    assert f'/children/{child["id"]}/guardianship-confirmation' in client.get(
        f"/children/{child['id']}").get_data(as_text=True)


def test_the_signing_day_is_recorded_through_the_history_and_counted(client, make_user, login, new_child,
                                                                     person, scoped_sql):
    child = new_child(seq="085")
    login(client, make_user(VILLAGE, "staff").username)
    today = clock.today_cst()
    response = client.post(f"/children/{child['id']}/guardianship-confirmation",
                           data={"signed_on": today.isoformat(), "version": child["version"]})
    assert response.status_code in (302, 303)
    record = client.get(f"/api/v1/children/{child['id']}", headers=person(VILLAGE)[1]).get_json()
    assert record["guardianship_confirmed_on"] == today.isoformat() and record["version"] == child["version"] + 1
    history = client.get(f"/api/v1/children/{child['id']}/history", headers=person(VILLAGE)[1]).get_json()
    assert any("guardianship_confirmed_on" in (entry.get("changes") or {}) for entry in history)
    assert today.isoformat() in _page(client, child["id"]).get_data(as_text=True)
    figures = client.get(f"/api/v1/stats/{VILLAGE}", headers=person(VILLAGE)[1]).get_json()["indicators"]
    assert figures["guardianship_confirmed"] >= 1 and figures["guardianship_confirmed"] <= figures["left_behind"]
    # A future day or a stale version: nothing written.
    tomorrow = (today + timedelta(days=1)).isoformat()
    client.post(f"/children/{child['id']}/guardianship-confirmation", data={"signed_on": tomorrow,
                                                                            "version": record["version"]})
    client.post(f"/children/{child['id']}/guardianship-confirmation", data={"signed_on": "2026-01-01",
                                                                            "version": child["version"]})
    again = client.get(f"/api/v1/children/{child['id']}", headers=person(VILLAGE)[1]).get_json()
    assert again["guardianship_confirmed_on"] == today.isoformat() and again["version"] == record["version"]


def test_a_reader_cannot_record_and_a_sibling_village_cannot_see(client, make_user, login, new_child):
    child = new_child(seq="083")
    login(client, make_user(COUNTY, "viewer").username)
    page = _page(client, child["id"])
    assert page.status_code == 200 and 'id="confirmation-form"' not in page.get_data(as_text=True)
    refused = client.post(f"/children/{child['id']}/guardianship-confirmation",
                          data={"signed_on": clock.today_cst().isoformat(), "version": child["version"]})
    assert refused.status_code == 403
    other = client.application.test_client()
    login(other, make_user(SIBLING_VILLAGE, "staff").username)
    assert _page(other, child["id"]).status_code == 404
