"""Argon2id at the recommended minimum (RFC 9106 / OWASP: 19 MiB, 2 passes, 1 lane), and older hashes rehashed
at the next successful login."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select

from hierarchy.scope import Scope, scoped
from tenant_app.auth.models import User
from tenant_app.auth.passwords import hash_password, needs_rehash, verify_password
from tenant_app.db import db


def test_new_hashes_use_the_recommended_minimum_parameters():
    params = extract_parameters(hash_password("Abcdefg123"))
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    assert params.type.name == "ID"
    assert verify_password(hash_password("Abcdefg123"), "Abcdefg123")
    assert not verify_password(hash_password("Abcdefg123"), "Abcdefg124")


def test_a_hash_with_older_parameters_verifies_and_is_replaced_at_login(client, make_user):
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("Passw0rd!")
    assert needs_rehash(old) and verify_password(old, "Passw0rd!")
    user = make_user("440203")
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.get(User, user.id).password_hash = old
        session.commit()
        session.close()

    response = client.post("/api/v1/auth/token", json={"username": user.username, "password": "Passw0rd!"})
    assert response.status_code == 201, response.get_json()

    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        stored = session.scalars(select(User.password_hash).where(User.id == user.id)).one()
        session.close()
    assert stored != old and not needs_rehash(stored)
    assert extract_parameters(stored).memory_cost == 19 * 1024
    again = client.post("/api/v1/auth/token", json={"username": user.username, "password": "Passw0rd!"})
    assert again.status_code == 201


def test_a_wrong_password_leaves_an_old_hash_alone(client, make_user):
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("Passw0rd!")
    user = make_user("440203")
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.get(User, user.id).password_hash = old
        session.commit()
        session.close()
    assert client.post("/api/v1/auth/token",
                       json={"username": user.username, "password": "wrong-pass1"}).status_code == 401
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        assert session.scalars(select(User.password_hash).where(User.id == user.id)).one() == old
        session.close()
