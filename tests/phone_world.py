"""Committed data for the phone checks: one village of 西河镇 with a full list of children (some with long names),
visits, a questionnaire with every kind of answer field, a census, a reminder, and the county's campaigns to track.
Everything is removed afterwards and the stored figures are put back (tests/committed.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

COUNTY, TOWNSHIP, VILLAGE = "440203", "440203101", "440203101201"
N_CHILDREN = 45  # one page of the lists (50 a page), well past "a few rows"

# Long names as village lists really have them: compound surnames and Uyghur, Kazakh and Manchu names.
LONG_NAMES = ["阿卜杜热西提·艾合买提江", "欧阳诸葛慕容雪", "买买提依明·阿卜杜拉", "司马上官婉清",
              "热依拉·吐尔逊娜依", "爱新觉罗·文轩", "努尔艾合麦提·吐尔洪", "古丽米热·阿不都克力木"]
DIRECTOR_NAME = "欧阳诸葛慕容晓燕"

QUESTIONS = [
    {"key": "all_visited", "label": "是否已对全部重点儿童逐户走访", "type": "yes_no", "required": True},
    {"key": "risks_found", "label": "发现的风险类型（可多选）", "type": "multi_choice", "required": False,
     "options": ["溺水隐患", "交通安全", "监护缺失", "校外欺凌", "网络沉迷", "其他"]},
    {"key": "main_risk", "label": "最突出的风险", "type": "choice", "required": False,
     "options": ["溺水隐患", "交通安全", "监护缺失"]},
    {"key": "children_visited", "label": "走访儿童数", "type": "integer", "required": True, "min": 0},
    {"key": "checked_on", "label": "排查完成日期", "type": "date", "required": False},
    {"key": "notes", "label": "工作情况说明（问题、措施、需要上级协调的事项）", "type": "text", "required": False},
]


@dataclass
class World:
    director: str
    county: str
    child_id: int
    questionnaire_id: int
    census_id: int
    task_id: int
    census_task_id: int
    due_on: object
    usernames: list[str] = field(default_factory=list)


def build(app, owner, tag: str, county_user: str, password: str, hashed: str) -> World:
    """Create the data through the API (a county officer issues and publishes, reminds the village) and the
    set-based child generator; returns what the tests open."""
    from sqlalchemy import text

    from hierarchy.scope import Scope, apply_db_scope
    from sync import rollup
    from tenant_app import clock
    from tenant_app.auth.models import User
    from tenant_app.children.demo import generate_children
    from tenant_app.db import db

    director = f"phone_dir_{tag}"
    others = [f"phone_dir_{tag}_{i}" for i in range(4)]
    with app.app_context(), db.session_scope(Scope(all_tenants=True)) as session:
        session.add(User(region_code=VILLAGE, username=director, role="staff", password_hash=hashed,
                         real_name=DIRECTOR_NAME, phone="13912345678"))
        # directors of the township's other villages: names and phones in the overdue list
        codes = [r[0] for r in session.execute(text(
            "SELECT code FROM units WHERE code LIKE :t AND level = 5 AND code <> :v ORDER BY code LIMIT 4"),
            {"t": f"{TOWNSHIP}%", "v": VILLAGE})]
        for username, code, name in zip(others, codes, LONG_NAMES[4:], strict=False):
            session.add(User(region_code=code, username=username, role="staff", password_hash=hashed,
                             real_name=name, phone="13800138000"))

    with owner.begin() as conn:
        generate_children(conn, N_CHILDREN, VILLAGE, seed=390)
    with owner.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM children WHERE region_code = :v ORDER BY id"),
                                          {"v": VILLAGE})]
        for child_id, name in zip(ids, LONG_NAMES, strict=False):
            conn.execute(text("UPDATE children SET name = :n WHERE id = :i"), {"n": name, "i": child_id})

    client = app.test_client()

    def headers(username: str) -> dict:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    county = headers(county_user)
    due = clock.today_cst() + timedelta(days=7)

    def issue(**body) -> int:
        response = client.post("/api/v1/campaigns", json={"target_level": 5, "due_on": due.isoformat(), **body},
                               headers=county)
        assert response.status_code == 201, response.get_json()
        campaign_id = response.get_json()["id"]
        published = client.post(f"/api/v1/campaigns/{campaign_id}/publish", headers=county)
        assert published.status_code in (200, 202), published.get_json()
        return campaign_id

    questionnaire = issue(title=f"2026年寒假期间农村留守儿童安全隐患专项排查（第二轮）{tag}", kind="questionnaire",
                          directive="请各村(居)儿童主任逐户走访重点儿童，如实填报。", questions=QUESTIONS)
    census = issue(template="census", title=f"农村留守儿童和困境儿童摸底排查 {tag}")
    reminded = client.post(f"/api/v1/campaigns/{questionnaire}/remind", headers=county,
                           json={"units": [VILLAGE], "message": "请尽快完成寒假安全排查并提交，逾期将通报。"})
    assert reminded.status_code in (200, 201), reminded.get_json()

    village = headers(director)
    tasks = client.get("/api/v1/tasks", headers=village).get_json()["items"]
    by_campaign = {t["campaign_id"]: t["id"] for t in tasks}
    child_id = ids[0]
    for day, findings in ((30, "入户走访，祖父母照看，学习生活正常，提醒暑期防溺水。"),
                          (5, "电话联系父亲，约定每周视频通话；孩子情绪稳定。")):
        response = client.post(f"/api/v1/children/{child_id}/visits", headers=village, json={
            "visited_on": (clock.today_cst() - timedelta(days=day)).isoformat(), "findings": findings,
            "met": ["child", "guardian"], "follow_up": "下月再次走访"})
        assert response.status_code == 201, response.get_json()

    # a mix of answers across the township, so the progress table has something in every column
    with owner.begin() as conn:
        conn.execute(text(
            "UPDATE tasks SET status = CASE WHEN right(region_code, 1) IN ('1', '3') THEN 'submitted' "
            "WHEN right(region_code, 1) = '2' THEN 'approved' ELSE status END, "
            "submitted_at = CASE WHEN right(region_code, 1) IN ('1', '2', '3') THEN now() END "
            "WHERE campaign_id = :c AND region_code LIKE :t AND region_code <> :v"),
            {"c": questionnaire, "t": f"{TOWNSHIP}%", "v": VILLAGE})
        apply_db_scope(conn, Scope(all_tenants=True))
        rollup.rebuild(conn, COUNTY)

    return World(director=director, county=county_user, child_id=child_id, questionnaire_id=questionnaire,
                 census_id=census, task_id=by_campaign[questionnaire], census_task_id=by_campaign[census],
                 due_on=due, usernames=[director, *others])


def tear_down(owner, tag: str) -> None:
    """Remove what `build` made (also after a partial build)."""
    from sqlalchemy import text

    with owner.begin() as conn:
        # Reports filed on the phone pages (cases of the village, with their timelines and read audit).
        for table in ("case_reads", "case_actions", "case_children", "cases", "reports"):
            conn.execute(text(f"DELETE FROM {table} WHERE region_code = :v"), {"v": VILLAGE})
        conn.execute(text("DELETE FROM campaigns WHERE issuer_code = :c AND title LIKE :t"),
                     {"c": COUNTY, "t": f"%{tag}"})
        ids = [r[0] for r in conn.execute(text("SELECT id FROM children WHERE region_code = :v"), {"v": VILLAGE})]
        if ids:
            conn.execute(text("DELETE FROM audit_events WHERE child_id = ANY(:ids)"), {"ids": ids})
            conn.execute(text("DELETE FROM children WHERE id = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM users WHERE username LIKE :u"), {"u": f"phone_dir_{tag}%"})
