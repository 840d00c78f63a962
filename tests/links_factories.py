"""Factories for the horizontal links' tests: department accounts with tokens, roll files, uploads."""

from __future__ import annotations

import io

import pytest

from tenant_app.auth.services import issue_token
from tenant_app.db import db

HEADERS = {
    "school": "学籍号,姓名,性别,出生日期,身份证号,学校,年级,学籍状态",
    "household": "身份证号,姓名,性别,出生日期,住址代码,户主,父亲身份证号,母亲身份证号,父亲外出,母亲外出",
}


def csv_file(kind: str, rows: list[str]) -> bytes:
    return ("\n".join([HEADERS[kind], *rows]) + "\n").encode("utf-8")


@pytest.fixture
def department(app, make_user):
    """department(unit, kind="education") -> (user, headers); one account per (unit, kind)."""
    made: dict = {}

    def get(unit: str, kind: str = "education"):
        if (unit, kind) not in made:
            user = make_user(unit, "department", org_kind=kind, org_name=f"测试{kind}")
            with app.app_context():
                session = db.new_session()
                try:
                    token, _ = issue_token(session, user)
                    session.commit()
                finally:
                    session.close()
            made[(unit, kind)] = (user, {"Authorization": f"Bearer {token}"})
        return made[(unit, kind)]

    return get


@pytest.fixture
def upload(client):
    """upload(headers, kind, content, filename="roll.csv") -> response of the dry run."""

    def do(headers, kind: str, content: bytes, filename: str = "roll.csv"):
        return client.post("/api/v1/rolls/uploads", headers=headers, content_type="multipart/form-data",
                           data={"roll_kind": kind, "file": (io.BytesIO(content), filename)})

    return do


@pytest.fixture
def confirmed(client, upload):
    """confirmed(headers, kind, content) -> the confirmed upload (JSON), its match run done (inline)."""

    def do(headers, kind: str, content: bytes):
        response = upload(headers, kind, content)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["status"] == "checked", body["errors"]
        response = client.post(f"/api/v1/rolls/uploads/{body['id']}/confirm", headers=headers,
                               json={"version": body["base_version"]})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return do
