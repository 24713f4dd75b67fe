"""Every data kind enterprises report (tables 1–4 of DB3306/T 046-2022), declared once.

A kind is a list of typed fields. The API, the web form and the Excel import are all built from
this declaration (``forms/data_forms.py``), so a new kind (D2) is a new entry here and nothing else:
no endpoint, form or table to write. ``personal`` fields are encrypted at rest and masked in lists.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

ALL = ("bottled", "pipeline", "vehicle")

# Who keeps a kind up to date (§7.1.2 更新责任单位).
UNIT_ENTERPRISE, UNIT_COUNTY, UNIT_CITY = "enterprise", "county", "city"
UNITS_RESPONSIBLE = {UNIT_ENTERPRISE: _l("Gas enterprise"), UNIT_COUNTY: _l("County authority"),
                     UNIT_CITY: _l("City authority")}
# How often (更新周期). A periodic kind is reported once per period (named by its ``period_field``) by the
# limit the decision table ``data_reporting_limits`` gives its cycle; the others are reported as things happen.
CYCLES = {"realtime": _l("Real time"), "daily": _l("Daily"), "monthly": _l("Monthly"),
          "quarterly": _l("Quarterly"), "yearly": _l("Yearly"), "on_change": _l("On change")}
PERIODIC_CYCLES = ("daily", "monthly", "quarterly", "yearly")
# How (更新方式): all three are built from the declaration (forms/data_forms.py, forms/data_excel.py).
METHODS = {"api": _l("Interface (API)"), "form": _l("Web form"), "excel": _l("Excel import")}
EVERY_METHOD = ("api", "form", "excel")


@dataclass(frozen=True)
class F:
    name: str
    # text, longtext, int, number, date, datetime, month, bool, choice, phone, id_number, plate, url, urls, track,
    # stream (a camera's video stream: workflows/services/camera_streams.py)
    type: str
    label: object
    required: bool = False
    choices: tuple = ()
    max: float | None = None
    min: float | None = None
    personal: bool = False


@dataclass(frozen=True)
class DataKind:
    key: str
    table: int
    item: str  # the standard's item, e.g. "A1.2"
    label: object
    fields: tuple
    enterprise_kinds: tuple = ALL
    located: bool = False  # has a point (lon, lat)
    summary: tuple = ()  # fields that name a record in lists and reviews
    # "auto": a record that passes the plausibility checks (workflows/services/plausibility.py) is official
    # at once and only the exceptions reach a reviewer; "review": every record waits for a person.
    acceptance: str = "review"
    # The files a record of the kind may carry, by file kind (forms/data_files.py): its licence, insurance, photos.
    files: tuple = ()
    # §7.1.2: the responsible unit, the update cycle (with, for a periodic one, the field naming the period)
    # and the update methods. The reporting limit of a cycle is in bpmn/data_reporting_limits.dmn.
    unit: str = UNIT_ENTERPRISE
    cycle: str = "on_change"
    period_field: str = ""
    methods: tuple = EVERY_METHOD

    @property
    def periodic(self) -> bool:
        return self.cycle in PERIODIC_CYCLES

    @property
    def field_map(self) -> dict:
        return {f.name: f for f in self.fields}

    @property
    def personal_fields(self) -> tuple:
        return tuple(f.name for f in self.fields if f.personal)


def _choices(*pairs):
    return tuple(pairs)


SEX = _choices(("male", _l("Male")), ("female", _l("Female")))
USER_TYPES = _choices(("residential", _l("Residential")), ("commercial", _l("Commercial")),
                      ("industrial", _l("Industrial")), ("public_welfare", _l("Public welfare")),
                      ("vehicle", _l("Vehicle")))
STATION_TYPES = _choices(("storage_distribution", _l("Storage and distribution station")),
                         ("supply", _l("Supply station")), ("lng", _l("LNG station")),
                         ("gate", _l("City gate station")), ("cng", _l("CNG station")),
                         ("regulator", _l("Regulator station")), ("refuelling", _l("Refuelling station")))
UNITS = _choices(("m3", _l("Cubic metres")), ("kg", _l("Kilograms")), ("cylinders", _l("Cylinders")))
SAFETY_TYPES = _choices(("emergency_plan", _l("Emergency plan")), ("fire_drill", _l("Fire drill")),
                        ("anti_terror_drill", _l("Anti-terror drill")), ("training", _l("Safety training")),
                        ("equipment_test", _l("Safety equipment test report")), ("insurance", _l("Insurance")))
CYLINDER_STATUS = _choices(("in_stock", _l("In stock")), ("out", _l("Out for delivery")),
                           ("at_user", _l("At a user")), ("scrapped", _l("Scrapped")))

NAME = F("name", "text", _l("Name"), required=True, max=128)
ADDRESS = F("address", "text", _l("Address"), max=256)
HEAD = F("head", "text", _l("Person in charge"), max=64)
CONTACT = F("phone", "phone", _l("Phone"), personal=True)
DATE = F("date", "date", _l("Date"), required=True)

KINDS = (
    # ---- basic data (A1.1–A1.4, A2.1–A2.2, A3.1–A3.2) -------------------------------------
    DataKind("enterprise_profile", 1, "A1.1/A2.1/A3.1", _l("Enterprise basic information"), (
        NAME, ADDRESS, F("uscc", "text", _l("Unified social credit code"), required=True, max=18, min=18),
        F("legal_head", "text", _l("Legal representative"), required=True, max=64),
        F("safety_officers", "text", _l("Safety officers"), max=256), CONTACT,
        F("licence_no", "text", _l("Gas business licence number"), max=64),
    ), located=True, summary=("name", "uscc"), files=("licence", "insurance", "other")),
    DataKind("station", 1, "A1.2/A2.4/A3.4", _l("Stations"), (
        NAME, F("station_type", "choice", _l("Station type"), required=True, choices=STATION_TYPES),
        ADDRESS, HEAD, CONTACT,
    ), located=True, summary=("name", "station_type"), files=("licence", "photo", "other")),
    DataKind("gas_user", 1, "A1.3/A2.2/A3.2", _l("Gas users (real name)"), (
        NAME, F("id_number", "id_number", _l("ID number"), personal=True), ADDRESS,
        F("user_type", "choice", _l("User type"), required=True, choices=USER_TYPES), CONTACT,
        F("contract_no", "text", _l("Gas contract number"), max=64),
        F("plate", "plate", _l("Plate number")),
    ), summary=("name", "user_type"), files=("contract",)),
    DataKind("delivery_staff", 1, "A1.4", _l("Delivery staff"), (
        NAME, F("sex", "choice", _l("Sex"), choices=SEX), F("id_number", "id_number", _l("ID number"), personal=True),
        CONTACT, F("education", "text", _l("Education"), max=32),
        F("home_address", "text", _l("Home address"), max=256, personal=True),
        F("qualification_no", "text", _l("Qualification certificate number"), max=64),
        F("labour_contract", "bool", _l("Labour contract signed")),
    ), enterprise_kinds=("bottled",), summary=("name", "qualification_no"), files=("certificate", "contract")),
    DataKind("delivery_vehicle", 1, "A1.4", _l("Delivery vehicles"), (
        F("plate", "plate", _l("Plate number"), required=True), F("brand", "text", _l("Brand"), max=64),
        F("model", "text", _l("Model"), max=64), F("vehicle_type", "text", _l("Vehicle type"), max=64),
        F("driver", "text", _l("Driver"), max=64), F("track", "track", _l("GPS track")),
    ), enterprise_kinds=("bottled",), cycle="realtime", summary=("plate", "driver"),
        files=("licence", "insurance", "photo")),
    DataKind("delivery_order", 1, "A1.4", _l("Delivery orders"), (
        F("order_no", "text", _l("Order number"), required=True, max=64),
        F("user_ref", "text", _l("User (their record id)"), max=64),
        F("ordered_at", "datetime", _l("Ordered at"), required=True),
        F("delivered_at", "datetime", _l("Delivered at")),
        F("cylinder_codes", "text", _l("Cylinder codes"), max=512), F("staff", "text", _l("Delivered by"), max=64),
    ), enterprise_kinds=("bottled",), cycle="realtime", summary=("order_no", "ordered_at"), acceptance="auto"),
    DataKind("cylinder", 1, "A1.4", _l("Cylinders"), (
        F("code", "text", _l("Cylinder code"), required=True, max=64),
        F("manufacturer", "text", _l("Manufacturer"), max=128), F("spec", "text", _l("Specification"), max=64),
        F("weight_kg", "number", _l("Weight (kg)"), min=0, max=1000),
        F("volume_l", "number", _l("Volume (L)"), min=0, max=10000),
        F("made_on", "date", _l("Made on")), F("next_inspection_on", "date", _l("Next inspection due")),
        F("status", "choice", _l("Status"), choices=CYLINDER_STATUS),
    ), enterprise_kinds=("bottled",), located=True, summary=("code", "status")),
    DataKind("cylinder_movement", 1, "A1.4", _l("Cylinder movements"), (
        F("cylinder_code", "text", _l("Cylinder code"), required=True, max=64),
        F("movement", "choice", _l("Movement"), required=True,
          choices=_choices(("in", _l("Into stock")), ("out", _l("Out of stock")), ("return", _l("Returned")))),
        F("at", "datetime", _l("Time"), required=True), F("station", "text", _l("Station"), max=128),
        F("user_ref", "text", _l("User (their record id)"), max=64),
    ), enterprise_kinds=("bottled",), cycle="realtime", summary=("cylinder_code", "movement"), acceptance="auto"),
    DataKind("cylinder_inspection", 1, "A1.4", _l("Cylinder inspections"), (
        F("cylinder_code", "text", _l("Cylinder code"), required=True, max=64),
        F("inspected_on", "date", _l("Inspected on"), required=True),
        F("result", "choice", _l("Result"), required=True,
          choices=_choices(("pass", _l("Passed")), ("fail", _l("Failed")), ("scrap", _l("Scrapped")))),
        F("inspection_unit", "text", _l("Inspection unit"), max=128), F("next_due_on", "date", _l("Next due on")),
    ), enterprise_kinds=("bottled",), cycle="on_change", summary=("cylinder_code", "result"), acceptance="auto",
        files=("report", "photo")),
    DataKind("appointment", 1, "A1.10", _l("User appointments"), (
        F("appointment_type", "choice", _l("Appointment type"), required=True,
          choices=_choices(("gas_order", _l("Gas order")), ("inspection", _l("Household inspection")),
                           ("delivery", _l("Delivery")))),
        F("user_ref", "text", _l("User (their record id)"), max=64),
        F("scheduled_at", "datetime", _l("Scheduled at"), required=True),
        F("status", "choice", _l("Status"), choices=_choices(("booked", _l("Booked")), ("done", _l("Done")),
                                                             ("cancelled", _l("Cancelled")))),
    ), enterprise_kinds=("bottled",), cycle="realtime", summary=("appointment_type", "scheduled_at"),
       acceptance="auto"),
    # ---- operational data -------------------------------------------------------------------
    DataKind("daily_volume", 1, "A1.5/A1.9/A2.3/A3.3", _l("Daily volumes"), (
        DATE, F("station", "text", _l("Station"), max=128),
        F("unit", "choice", _l("Unit"), required=True, choices=UNITS),
        F("inbound", "number", _l("Inbound"), min=0), F("supplied", "number", _l("Supplied"), min=0),
        F("stock", "number", _l("Stock"), min=0), F("delivered", "number", _l("Delivered"), min=0),
    ), cycle="daily", period_field="date", summary=("date", "station"), acceptance="auto"),
    DataKind("monthly_supply", 2, "A2.3", _l("Monthly supply by user category"), (
        F("month", "month", _l("Month"), required=True),
        *(F(k, "number", label, min=0) for k, label in (
            ("residential", _l("Residential (m³)")), ("industrial", _l("Industrial (m³)")),
            ("commercial", _l("Commercial (m³)")), ("public_welfare", _l("Public welfare (m³)")),
            ("vehicle", _l("Vehicle (m³)")), ("piped", _l("Piped (m³)")), ("non_piped", _l("Non-piped (m³)")))),
    ), enterprise_kinds=("pipeline",), cycle="monthly", period_field="month", summary=("month",), acceptance="auto"),
    DataKind("household_inspection", 1, "A1.6/A2.9", _l("Household safety inspections"), (
        F("user_ref", "text", _l("User (their record id)"), required=True, max=64),
        F("inspected_at", "datetime", _l("Inspected at"), required=True),
        F("inspector", "text", _l("Inspector"), max=64),
        F("result", "choice", _l("Result"), required=True,
          choices=_choices(("safe", _l("No hazard")), ("hazard", _l("Hazard found")),
                           ("not_home", _l("Nobody at home")))),
        F("hazards", "longtext", _l("Hazards"), max=2000), F("rectified", "bool", _l("Hazard rectified")),
        F("rectified_on", "date", _l("Rectified on")), F("photo_urls", "urls", _l("Photo links"), max=2000),
    ), enterprise_kinds=("bottled", "pipeline"), cycle="on_change", summary=("user_ref", "result"), files=("photo",)),
    DataKind("camera", 1, "A1.7/A2.4/A3.4", _l("Surveillance cameras"), (
        NAME, F("site", "text", _l("Site"), required=True, max=128),
        F("stream_url", "stream", _l("Stream URL"), required=True, max=512),
    ), located=True, summary=("name", "site")),
    DataKind("patrol_plan", 2, "A2.6", _l("Network patrol plans"), (
        F("title", "text", _l("Title"), required=True, max=128), F("area", "text", _l("Area"), max=256),
        F("starts_on", "date", _l("Starts on"), required=True), F("ends_on", "date", _l("Ends on")),
        F("frequency", "text", _l("Frequency"), max=64),
    ), enterprise_kinds=("pipeline",), summary=("title", "starts_on")),
    DataKind("patrol_record", 2, "A2.6", _l("Network patrol records"), (
        F("patrolled_at", "datetime", _l("Patrolled at"), required=True),
        F("patroller", "text", _l("Patroller"), max=64), F("track", "track", _l("GPS track")),
        F("issues", "longtext", _l("Issues found"), max=2000), F("handling", "longtext", _l("Handling"), max=2000),
    ), enterprise_kinds=("pipeline",), cycle="on_change", summary=("patrolled_at", "patroller"), acceptance="auto"),
    DataKind("maintenance_plan", 2, "A2.7", _l("Maintenance plans"), (
        F("title", "text", _l("Title"), required=True, max=128), F("scope", "longtext", _l("Scope"), max=2000),
        F("starts_on", "date", _l("Starts on"), required=True), F("ends_on", "date", _l("Ends on")),
    ), enterprise_kinds=("pipeline",), summary=("title", "starts_on")),
    DataKind("maintenance_record", 2, "A2.7", _l("Maintenance records"), (
        F("done_at", "datetime", _l("Done at"), required=True), F("facility", "text", _l("Facility"), max=128),
        F("work", "longtext", _l("Work done"), required=True, max=2000),
        F("issues", "longtext", _l("Issues found"), max=2000),
    ), enterprise_kinds=("pipeline",), cycle="on_change", summary=("done_at", "facility"), acceptance="auto",
        files=("report", "photo")),
    DataKind("emergency_repair", 2, "A2.8", _l("Emergency repairs"), (
        F("leak_location", "text", _l("Leak location"), required=True, max=256),
        F("leak_at", "datetime", _l("Leak time"), required=True),
        F("pressure_mpa", "number", _l("Pressure (MPa)"), min=0, max=10),
        F("diameter_mm", "int", _l("Pipe diameter (mm)"), min=0, max=3000),
        F("affected_range", "text", _l("Affected range"), max=256),
        F("plan", "longtext", _l("Repair plan"), max=2000), F("finished_at", "datetime", _l("Repair finished at")),
    ), enterprise_kinds=("pipeline",), located=True, cycle="realtime", summary=("leak_location", "leak_at"),
        files=("report", "photo")),
    DataKind("safety_record", 1, "A1.11/A2.10/A3.6", _l("Safety management records"), (
        F("record_type", "choice", _l("Record type"), required=True, choices=SAFETY_TYPES),
        F("title", "text", _l("Title"), required=True, max=128), DATE,
        F("description", "longtext", _l("Description"), max=4000), F("valid_until", "date", _l("Valid until")),
    ), summary=("record_type", "title"), files=("emergency_plan", "insurance", "report", "photo", "other")),
    # ---- enterprise services (table 4) ----------------------------------------------------------
    DataKind("training", 4, "A4.1", _l("Education and training"), (
        F("course", "text", _l("Course"), required=True, max=128), DATE,
        F("trainees", "int", _l("Trainees"), min=0, max=100000),
        F("qualified", "int", _l("Qualified"), min=0, max=100000),
        F("assessment", "text", _l("Assessment"), max=256),
    ), summary=("course", "date"), files=("photo", "other")),
    DataKind("publicity", 4, "A4.2", _l("Safety publicity"), (
        F("publicity_type", "choice", _l("Publicity type"), required=True,
          choices=_choices(("publicity", _l("Safety publicity")), ("rule", _l("Publicity rule")),
                           ("slogan", _l("Slogan")))),
        F("title", "text", _l("Title"), required=True, max=128), DATE,
        F("content", "longtext", _l("Content"), max=4000),
    ), summary=("publicity_type", "title")),
)

KINDS_BY_KEY = {k.key: k for k in KINDS}

# The kinds reported per period: what data timeliness (the supervision measures, the late and missing reports)
# is counted over.
PERIODIC = tuple(k for k in KINDS if k.periodic)


def _check_unique() -> None:
    # A name collision would silently hide a kind from the API; fail at import instead.
    if len(KINDS_BY_KEY) != len(KINDS):
        raise ValueError("data kinds must have unique keys")
    for kind in KINDS:  # a declaration the catalogue or the timeliness check could not read fails here too
        if kind.unit not in UNITS_RESPONSIBLE or kind.cycle not in CYCLES or not kind.methods \
                or not set(kind.methods) <= set(METHODS) or kind.periodic != bool(kind.period_field) \
                or (kind.period_field and kind.period_field not in kind.field_map):
            raise ValueError(f"data kind {kind.key}: unit, cycle, period field or methods not as declared")


_check_unique()
