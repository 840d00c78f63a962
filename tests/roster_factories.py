"""Factories for roster tests: adult ID numbers, people registered and appointed through the API."""

from __future__ import annotations

import itertools

import pytest

from tenant_app.children import idcard

_SEQ = itertools.count(11)


def adult_id(sex: str = "male", area: str = "440203", birth: str = "19850301") -> str:
    """A valid 18-character ID number of an adult; the sequence's last digit gives the sex (odd: male)."""
    while True:
        seq = f"{next(_SEQ) % 1000:03d}"
        if (int(seq[-1]) % 2 == 1) == (sex == "male"):
            first17 = area + birth + seq
            return first17 + idcard.check_char(first17)


def person_body(unit_code: str, **overrides) -> dict:
    body = {"unit_code": unit_code, "name": "张主任", "sex": "male", "id_number": adult_id(area=unit_code[:6]),
            "phone": "13800002222", "qualifications": "社会工作者（初级）"}
    body.update(overrides)
    return body


@pytest.fixture
def roster(client, person):
    """roster(unit_code, appointed_on="2025-01-01", by=<unit>, **person fields) -> (person JSON, appointment
    JSON): a person registered at `unit_code` and appointed to its post by staff of `by` (default: the county
    of the unit)."""

    def make(unit_code: str, appointed_on: str = "2025-01-01", by: str | None = None, **overrides):
        headers = person(by or unit_code[:6])[1]
        response = client.post("/api/v1/roster/people", json=person_body(unit_code, **overrides), headers=headers)
        assert response.status_code == 201, response.get_json()
        made = response.get_json()
        response = client.post("/api/v1/roster/appointments", headers=headers, json={
            "person_id": made["id"], "unit_code": unit_code, "employment": "part_time", "other_post": "村委委员",
            "appointed_on": appointed_on})
        assert response.status_code == 201, response.get_json()
        return made, response.get_json()

    return make
