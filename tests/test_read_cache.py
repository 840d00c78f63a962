"""The short-lived cache of tracking reads (tenant_app.read_cache): an answer is served again to its unit for the
configured seconds and no longer, a write of the unit drops it at once, and nobody outside the unit (or with
another role) is ever given it. Each test runs with the in-process store and with the Redis store."""

from __future__ import annotations

import pytest

from tenant_app import read_cache
from tests import test_campaigns_api as base
from tests.test_campaigns_api import COUNTY, OTHER_COUNTY, TOWNSHIP, VILLAGE, set_tasks

staff = base.staff
campaign = base.campaign


@pytest.fixture(params=["memory", "redis"])
def cache(request, app, monkeypatch):
    """The cache turned on (2 s) with a clock the test moves: cache["now"] += seconds."""
    if request.param == "redis":
        import redis

        url = request.getfixturevalue("redis_url")
        store = read_cache._RedisStore(url)
        redis.Redis.from_url(url).flushdb()
    else:
        store = read_cache._LocalStore()
    monkeypatch.setitem(app.config, read_cache.CONFIG_KEY, 2)
    monkeypatch.setitem(app.extensions, "shouhu_tracking_cache", store)
    state = {"now": 1_000_000.0}
    monkeypatch.setattr(read_cache, "now", lambda: state["now"])
    return state


def _submitted(body: dict) -> int:
    return body["submitted"]


def test_an_answer_is_served_again_for_the_configured_seconds_only(client, campaign, staff, cache):
    data = campaign(COUNTY)
    county = staff(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/progress?unit={TOWNSHIP}"
    first = client.get(url, headers=county)
    assert first.status_code == 200 and "Age" not in first.headers
    set_tasks(data["id"], [VILLAGE], status="submitted")  # a village's write: the county is not told at once
    cache["now"] += 1.5
    again = client.get(url, headers=county)
    assert again.headers["Age"] == "1" and again.get_json() == first.get_json()
    cache["now"] += 0.6  # 2.1 s after it was computed
    fresh = client.get(url, headers=county)
    assert "Age" not in fresh.headers
    assert _submitted(fresh.get_json()) == _submitted(first.get_json()) + 1


def test_a_write_of_the_unit_drops_its_answers_at_once(client, campaign, staff, cache):
    data = campaign(COUNTY)
    county = staff(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/progress?unit={TOWNSHIP}"
    before = client.get(url, headers=county).get_json()
    set_tasks(data["id"], [VILLAGE], status="submitted")
    # a write that fails changes nothing and drops nothing
    refused = client.post(f"/api/v1/campaigns/{data['id']}/remind", json={"units": []}, headers=county)
    assert refused.status_code in (400, 422)
    assert client.get(url, headers=county).headers.get("Age") == "0"
    # any member's successful write does
    colleague = staff(COUNTY)
    sent = client.post(f"/api/v1/campaigns/{data['id']}/remind", json={"units": [VILLAGE]}, headers=colleague)
    assert sent.status_code == 201, sent.get_json()
    after = client.get(url, headers=county)
    assert "Age" not in after.headers and _submitted(after.get_json()) == _submitted(before) + 1


def test_an_answer_computed_before_a_write_is_not_stored_over_it(app, client, campaign, staff, cache):
    """A read that started before the unit's write and stores its answer after it: never served."""
    data = campaign(COUNTY)
    county = staff(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/progress?unit={TOWNSHIP}"
    store = app.extensions["shouhu_tracking_cache"]
    field = f"staff|zh|{url}".encode()
    cache["now"] += 1  # after the county's own writes of the set-up (creating and publishing the campaign)
    store.write(COUNTY, field, read_cache._STAMP.pack(cache["now"] - 0.5) + b'{"stale": true}', 2)
    assert client.get(url, headers=county).get_json() == {"stale": True}  # what was stored is what is served
    store.mark_written(COUNTY, 2)
    store.write(COUNTY, field, read_cache._STAMP.pack(cache["now"] - 0.5) + b'{"stale": true}', 2)
    answer = client.get(url, headers=county)
    assert "Age" not in answer.headers and "stale" not in answer.get_json()


def test_no_other_unit_and_no_other_role_is_given_the_answer(client, campaign, staff, cache):
    data = campaign("4402")  # issued by the city: both counties are in its tree
    county, other = staff(COUNTY), staff(OTHER_COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/progress?unit={COUNTY}"
    assert client.get(url, headers=county).status_code == 200
    assert client.get(url, headers=county).headers.get("Age") == "0"
    # the sibling county asks for the same URL: its own permission check answers, not the cache
    refused = client.get(url, headers=other)
    assert refused.status_code == 404 and "Age" not in refused.headers
    viewer = client.get(url, headers=staff(COUNTY, "viewer"))
    assert viewer.status_code == 200 and "Age" not in viewer.headers
    city = client.get(url, headers=staff("4402"))
    assert city.status_code == 200 and "Age" not in city.headers
    # an error is never stored
    missing = f"/api/v1/campaigns/{data['id'] + 10_000}/progress"
    assert client.get(missing, headers=county).status_code == 404
    assert "Age" not in client.get(missing, headers=county).headers


def test_every_tracking_read_is_cached_and_the_language_is_part_of_the_key(client, campaign, staff, cache):
    data = campaign(COUNTY)
    county = staff(COUNTY)
    for url in (f"/api/v1/campaigns/{data['id']}/progress", f"/api/v1/campaigns/{data['id']}/overdue",
                f"/api/v1/campaigns/{data['id']}/answers/summary", f"/api/v1/stats/{COUNTY}"):
        first = client.get(url, headers=county)
        assert first.status_code == 200 and "Age" not in first.headers, url
        assert client.get(url, headers=county).headers.get("Age") == "0", url
        client.set_cookie("lang", "en")  # the same URL in another language: an answer of its own
        english = client.get(url, headers=county)
        client.delete_cookie("lang")
        assert english.status_code == 200 and "Age" not in english.headers, url


def test_off_when_the_seconds_are_zero(app, client, campaign, staff, cache, monkeypatch):
    monkeypatch.setitem(app.config, read_cache.CONFIG_KEY, 0)
    data = campaign(COUNTY)
    county = staff(COUNTY)
    url = f"/api/v1/campaigns/{data['id']}/progress"
    client.get(url, headers=county)
    assert "Age" not in client.get(url, headers=county).headers
