"""Keep attacking: schemathesis generates requests for every operation of the OpenAPI document, as a county user
and as a village user, against the application in the test's transaction (WSGI). No response may be a server
error, and every response must conform to the document (status code, content type, body schema).

Bounded to fit CI: a few derandomized examples per operation, no shrinking, and an overall time budget."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tenant_app.auth.services import issue_token
from tenant_app.db import db
from tests.tasks_factories import COUNTY, VILLAGE

EXAMPLES_PER_OPERATION = 4
BUDGET_SECONDS = 120
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _bearer(app, user) -> dict:
    with app.app_context():
        session = db.new_session()
        try:
            token, _ = issue_token(session, user)
            session.commit()
        finally:
            session.close()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("unit", [COUNTY, VILLAGE], ids=["county", "village"])
def test_every_operation_as_a_real_user_gives_no_server_error_and_conforms(app, make_user, unit):
    headers = _bearer(app, make_user(unit, "staff"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The token endpoint is left to the auth tests: each call costs a deliberately slow password hash.
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if op.path != "/api/v1/auth/token"]
    assert len(operations) >= 50
    failures: list[str] = []
    started = time.monotonic()
    tried = 0
    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            break

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001  every operation is tried; failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
        tried += 1
    assert failures == [], "\n\n".join(failures)
    # The budget is generous for the document's size: every operation must have been reached.
    assert tried == len(operations), f"only {tried} of {len(operations)} operations within {BUDGET_SECONDS} s"
