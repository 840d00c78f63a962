"""Login throttling that slows attackers without locking out the owner or an office (Flask-Limiter).

Someone else's wrong passwords never keep the owner out: from a browser where the owner logged in before
(the known-device cookie) the right password works at once, and from anywhere once the delay has passed.
An attacker from one address is slowed with 429 and Retry-After; 30 people behind one address all log in.
"""

from __future__ import annotations

import time

import limits.storage.memory
import pytest

from tenant_app.auth import throttle

PASSWORD = "Passw0rd!"


class _Clock:
    """time.time() moved forward, for the limiter's memory storage and the throttle alone."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def limiter_clock(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(throttle, "time", clock)
    return clock


def _login(client, username, password, addr="10.1.1.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def test_owner_on_a_known_device_gets_in_after_ten_wrong_attempts_by_someone_else(app, make_user):
    owner = make_user("440203001002")
    own_browser, attacker = app.test_client(), app.test_client()
    assert _login(own_browser, owner.username, PASSWORD, "10.1.1.1").status_code == 302
    assert throttle.DEVICE_COOKIE in own_browser.get_cookie(throttle.DEVICE_COOKIE).key
    own_browser.post("/logout")
    statuses = [_login(attacker, owner.username, "Wrong-pass1", "10.6.6.6").status_code for _ in range(10)]
    assert statuses[:5] == [200] * 5 and 429 in statuses  # the attacker is slowed
    # Before this change, 5 failures locked the account for 15 minutes even against the right password.
    assert _login(own_browser, owner.username, PASSWORD, "10.1.1.1").status_code == 302
    # The same right password from a browser never seen before waits like the attacker.
    assert _login(app.test_client(), owner.username, PASSWORD, "10.1.1.2").status_code == 429


def test_owner_gets_in_after_the_delay_and_delays_grow(app, client, make_user, limiter_clock):
    owner = make_user("440203001002")
    for _ in range(5):
        assert _login(client, owner.username, "Wrong-pass1").status_code == 200
    blocked = _login(client, owner.username, PASSWORD)
    assert blocked.status_code == 429
    first_wait = int(blocked.headers["Retry-After"])
    assert 0 < first_wait <= 60  # a minute at most, not a 15-minute lockout
    limiter_clock.offset += first_wait + 1
    for _ in range(5):  # five more: ten in ten minutes
        assert _login(client, owner.username, "Wrong-pass1").status_code == 200
    second = _login(client, owner.username, PASSWORD)
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > first_wait  # progressive
    limiter_clock.offset += int(second.headers["Retry-After"]) + 1
    assert _login(client, owner.username, PASSWORD).status_code == 302  # after the delay: in


def test_an_attacker_spraying_from_one_address_is_slowed(app, client, make_user):
    victim = make_user("440203001002")
    for i in range(30):  # one failure per account: no account limit is reached
        assert _login(client, f"ghost_{i}", "Wrong-pass1", "10.7.7.7").status_code == 200
    blocked = _login(client, victim.username, "Wrong-pass1", "10.7.7.7")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    api = client.post("/api/v1/auth/token", json={"username": victim.username, "password": "Wrong-pass1"},
                      environ_base={"REMOTE_ADDR": "10.7.7.7"})
    assert api.status_code == 429 and api.headers["Retry-After"]
    assert api.headers["Content-Type"].startswith("application/problem+json")


def test_thirty_users_behind_one_address_all_log_in(app, make_user):
    users = [make_user("440203001") for _ in range(30)]
    office = "10.30.30.30"
    # One colleague mistypes a lot: the others are not slowed by it.
    clumsy = app.test_client()
    for _ in range(8):
        _login(clumsy, users[0].username, "Wrong-pass1", office)
    for i, user in enumerate(users[1:]):
        browser = app.test_client()
        if i % 3 == 0:  # every third mistypes once
            assert _login(browser, user.username, "Typo-pass1", office).status_code == 200
        assert _login(browser, user.username, PASSWORD, office).status_code == 302, user.username


def test_a_forged_device_cookie_is_ignored(app, make_user):
    owner = make_user("440203001002")
    attacker = app.test_client()
    attacker.set_cookie(throttle.DEVICE_COOKIE, "eyJkIjoieCIsInUiOlsxXX0.forged.sig")
    for _ in range(5):
        _login(attacker, owner.username, "Wrong-pass1", "10.8.8.8")
    assert _login(attacker, owner.username, PASSWORD, "10.8.8.8").status_code == 429
