"""The roster over HTTP: people, appointments, vacancies, covers. Services flush; this layer commits once per
request. A person returned in full (ID number in clear) is audited like a read."""

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor
from tenant_app.workforce import appointments, covers, people, units, vacancies
from tenant_app.workforce.schemas import (
    AppointmentCreateSchema,
    AppointmentEndSchema,
    AppointmentItemSchema,
    AppointmentListArgs,
    AppointmentPageSchema,
    CoverCreateSchema,
    CoverEndSchema,
    CoverListArgs,
    CoverPageSchema,
    CoverSchema,
    PersonCreateSchema,
    PersonListArgs,
    PersonPageSchema,
    PersonPatchSchema,
    PersonReadArgs,
    PersonSchema,
    ReadPageSchema,
    RosterArgs,
    RosterReadPageArgs,
    RosterSummarySchema,
    RosterUnitSchema,
    VacancyArgs,
    VacancyPageSchema,
)

blp = Blueprint("roster_api", __name__,
                description="The workforce roster: children's directors (儿童主任) and supervisors (儿童督导员), "
                            "appointments, vacancies and covers")


def _page(items, total, args) -> dict:
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def full(person) -> dict:
    return {**{c: getattr(person, c) for c in ("id", "region_code", "name", "sex", "id_number", "phone",
                                               "qualifications", "user_id", "version", "created_at",
                                               "updated_at")},
            "appointments": appointments.of_person(db.session, person.id)}


def _returned(actor, person, action: str) -> dict:
    people.audit(db.session, actor, person, action, people.RETURNED_PURPOSE)
    result = full(person)
    db.session.commit()
    return result


@blp.route("/roster")
class RosterResource(MethodView):
    @api_login_required
    @blp.arguments(RosterArgs, location="query")
    @blp.response(200, RosterSummarySchema)
    def get(self, args):
        """Per post over a subtree (default: the caller's unit): units, filled today, vacant, covered."""
        return units.summary(db.session, current_actor(), args["unit"])


@blp.route("/roster/units/<code>")
class RosterUnitResource(MethodView):
    @api_login_required
    @blp.response(200, RosterUnitSchema)
    def get(self, code):
        """A village's or township's roster: the holder today, the cover, every appointment and cover, and the
        unit's open work (tasks, due visits, cases) its successor or coverer takes over."""
        return units.unit_roster(db.session, current_actor(), code)


@blp.route("/roster/people")
class PeopleResource(MethodView):
    @api_login_required
    @blp.arguments(PersonListArgs, location="query")
    @blp.response(200, PersonPageSchema)
    def get(self, args):
        """People of the caller's subtree (or of one unit within it); ID numbers masked."""
        rows, total = people.list_people(db.session, current_actor(), unit=args["unit"], q=args["q"],
                                         current=args["current"], page=args["page"], per_page=args["per_page"])
        return _page([people.list_item(p) for p in rows], total, args)

    @api_login_required
    @blp.arguments(PersonCreateSchema)
    @blp.response(201, PersonSchema)
    def post(self, data):
        """Register a person by real name at a village or township (staff and administrators above villages).
        The answer is the full record: audited."""
        actor = current_actor()
        return _returned(actor, people.register(db.session, actor, data), "create")


@blp.route("/roster/people/<int:person_id>")
class PersonResource(MethodView):
    @api_login_required
    @blp.arguments(PersonReadArgs, location="query")
    @blp.response(200, PersonSchema)
    def get(self, args, person_id):
        """The full record with its appointments; the read is audited (purpose from ?purpose=)."""
        person = people.read(db.session, current_actor(), person_id, args["purpose"])
        result = full(person)
        db.session.commit()
        return result

    @api_login_required
    @blp.arguments(PersonPatchSchema)
    @blp.response(200, PersonSchema)
    def patch(self, data, person_id):
        """Correct fields; `version` must be the version read, else 409 and nothing changes (audited answer)."""
        actor = current_actor()
        return _returned(actor, people.update(db.session, actor, person_id, data), "update")


@blp.route("/roster/appointments")
class AppointmentsResource(MethodView):
    @api_login_required
    @blp.arguments(AppointmentListArgs, location="query")
    @blp.response(200, AppointmentPageSchema)
    def get(self, args):
        """Appointments of a subtree, by unit, latest first (`current`: holding the post today or not)."""
        items, total = units.list_appointments(db.session, current_actor(), unit=args["unit"],
                                               current=args["current"], page=args["page"],
                                               per_page=args["per_page"])
        return _page(items, total, args)

    @api_login_required
    @blp.arguments(AppointmentCreateSchema)
    @blp.response(201, AppointmentItemSchema)
    def post(self, data):
        """Appoint a registered person: a village's director or a township's supervisor. A unit whose post is
        held answers 409 (record the departure first); an open cover of the unit ends the day before."""
        row = appointments.appoint(db.session, current_actor(), data)
        result = units.item(row, people.get_person(db.session, row.person_id))
        db.session.commit()
        return result


@blp.route("/roster/appointments/<int:appointment_id>")
class AppointmentResource(MethodView):
    @api_login_required
    @blp.response(200, AppointmentItemSchema)
    def get(self, appointment_id):
        row = appointments.get_appointment(db.session, appointment_id)
        return units.item(row, people.get_person(db.session, row.person_id))


@blp.route("/roster/appointments/<int:appointment_id>/end")
class AppointmentEndResource(MethodView):
    @api_login_required
    @blp.arguments(AppointmentEndSchema)
    @blp.response(200, AppointmentItemSchema)
    def post(self, data, appointment_id):
        """Record a departure (离任): the unit is vacant from `left_on`, the township (a township: the county) is
        notified, with the cover when `cover_person_id` names one. Stale `version`: 409."""
        row = appointments.end(db.session, current_actor(), appointment_id, data)
        result = units.item(row, people.get_person(db.session, row.person_id))
        db.session.commit()
        return result


@blp.route("/roster/vacancies")
class VacanciesResource(MethodView):
    @api_login_required
    @blp.arguments(VacancyArgs, location="query")
    @blp.response(200, VacancyPageSchema)
    def get(self, args):
        """Villages without a director today and townships without a supervisor, longest vacant first, with
        the days vacant (since the last holder left, or since the unit was loaded when never filled: `basis`)
        and the current cover."""
        items, total = vacancies.list_vacancies(db.session, current_actor(), unit=args["unit"], post=args["post"],
                                                covered=args["covered"], page=args["page"],
                                                per_page=args["per_page"])
        return _page(items, total, args)


@blp.route("/roster/covers")
class CoversResource(MethodView):
    @api_login_required
    @blp.arguments(CoverListArgs, location="query")
    @blp.response(200, CoverPageSchema)
    def get(self, args):
        """Covers of a subtree (current ones by default)."""
        rows, total = covers.list_covers(db.session, current_actor(), unit=args["unit"],
                                         current_only=args["current"], page=args["page"],
                                         per_page=args["per_page"])
        return _page(rows, total, args)

    @api_login_required
    @blp.arguments(CoverCreateSchema)
    @blp.response(201, CoverSchema)
    def post(self, data):
        """Name who covers a vacant unit (代管); the unit above is notified."""
        cover = covers.start(db.session, current_actor(), data)
        db.session.commit()
        return cover


@blp.route("/roster/covers/<int:cover_id>")
class CoverResource(MethodView):
    @api_login_required
    @blp.response(200, CoverSchema)
    def get(self, cover_id):
        return covers.get_cover(db.session, cover_id)


@blp.route("/roster/covers/<int:cover_id>/end")
class CoverEndResource(MethodView):
    @api_login_required
    @blp.arguments(CoverEndSchema)
    @blp.response(200, CoverSchema)
    def post(self, data, cover_id):
        """End a cover on `until` (default today). Stale `version`: 409."""
        cover = covers.finish(db.session, current_actor(), cover_id, data)
        db.session.commit()
        return cover


@blp.route("/roster/reads")
class ReadsResource(MethodView):
    @api_login_required
    @blp.arguments(RosterReadPageArgs, location="query")
    @blp.response(200, ReadPageSchema)
    def get(self, args):
        """Full reads of roster records in the administrator's subtree."""
        rows, total = people.list_reads(db.session, current_actor(), person_id=args["person_id"],
                                        page=args["page"], per_page=args["per_page"])
        return _page(rows, total, args)
