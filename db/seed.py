"""Deterministic, realistic demo data for an empty ConnectDesk database.

The same ``seed``, ``consumers`` and ``today`` always produce the same rows (password hashes
aside: Argon2 salts are random), whenever and wherever the seeding runs. Every value comes
from ``random.Random`` instances derived from ``seed``; dates are relative to ``today``.

Everything is written in one transaction, in batches: Core ``INSERT`` executemany, except the
big consumer tables on PostgreSQL, which go through COPY. Ids are generated here, so foreign
keys are known without a round trip. Requests, their events, slot bookings and documents are
never seeded: the first three belong to the workflows, and a document row needs a file.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from time import perf_counter
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import (
    BillingAccount,
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    MeterReading,
    Payment,
    Plan,
    PlanService,
    ServiceOrder,
    SystemSetting,
    TimeSlot,
    User,
    UtilityService,
)
from domain.consumers.types import (
    SUB_CATEGORIES,
    BillingCycle,
    Category,
    ConsumerStatus,
    MeterStatus,
    PaymentMethod,
    PaymentMode,
    PaymentStatus,
    ServiceOrderStatus,
    ServiceOrderType,
    UtilityType,
    VerificationStatus,
)
from domain.passwords import hash_password
from domain.request.types import Channel, Direction, Visibility
from domain.users import Role

SEED_TODAY = date(2026, 11, 1)
"""The default "today" every seeded date is relative to, fixed so a seed means the same data forever."""

BATCH_ROWS = 10_000
_CHUNK_CONSUMERS = 2_500
_SQLITE_CACHE_KIB = 256 * 1024

ProgressFn = Callable[[str, int, int], None]


class SeedError(Exception):
    """The database cannot be seeded (not empty, or not migrated)."""


class DemoUser(NamedTuple):
    username: str
    password: str
    role: Role
    full_name: str


DEMO_USERS: list[DemoUser] = [
    DemoUser("csr", "csr-demo", Role.CSR, "Casey Rivera"),
    DemoUser("supervisor", "supervisor-demo", Role.SUPERVISOR, "Sam Okafor"),
    DemoUser("admin", "admin-demo", Role.ADMIN, "Alex Lindqvist"),
]

DEFAULT_SETTINGS: dict[str, Any] = {
    "sla_ack_minutes": 120,
    "sla_response_minutes": 240,
    "sla_resolution_minutes": 1440,
    "sla_at_risk_fraction": 0.75,
}

TIME_SLOT_WINDOWS: list[tuple[time, time]] = [(time(h), time(h + 2)) for h in (8, 10, 12, 14, 16)]

# Insertion order, parents before children; also the order of SeedSummary.rows.
TABLES: tuple[Table, ...] = tuple(
    cast(Table, model.__table__)
    for model in (
        UtilityService,
        User,
        TimeSlot,
        SystemSetting,
        Plan,
        PlanService,
        Consumer,
        Meter,
        MeterAssignment,
        MeterReading,
        BillingAccount,
        Payment,
        ServiceOrder,
        Communication,
    )
)
_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
_CONSUMER_TABLES = (
    "consumers",
    "meters",
    "meter_assignments",
    "meter_readings",
    "billing_accounts",
    "payments",
    "service_orders",
    "communications",
)


@dataclass(frozen=True)
class SeedSummary:
    """What a seeding wrote: rows per table (in insertion order) and where the time went."""

    rows: dict[str, int]
    seconds: float
    insert_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward",
    "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
    "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen",
    "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra",
    "Frank", "Rachel", "Raymond", "Carolyn", "Patrick", "Janet", "Jack", "Maria", "Priya",
    "Wei", "Aisha", "Diego", "Fatima", "Hiroshi", "Olga", "Kwame",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "O'Brien",
    "Okafor", "Chen", "Kowalski", "Nakamura",
)  # fmt: skip

STREETS = (
    "Maple", "Oak", "Pine", "Cedar", "Elm", "Willow", "Birch", "Walnut", "Chestnut", "Spruce",
    "Lakeview", "Hillcrest", "Riverside", "Sunset", "Meadow", "Park", "Washington", "Lincoln",
    "Jefferson", "Madison", "Franklin", "Highland", "Forest", "Orchard", "Church", "Mill",
    "Spring", "Valley", "Prospect", "Ridge", "Harbor", "Union", "Main", "Center", "Broad",
    "Market", "Water", "Railroad", "Grove", "Bridge",
)  # fmt: skip
STREET_SUFFIXES = ("Street", "Avenue", "Road", "Lane", "Drive", "Court", "Boulevard", "Way", "Place")
CITIES = (
    "Springfield", "Riverton", "Fairview", "Greenville", "Franklin", "Clinton", "Georgetown",
    "Salem", "Madison", "Ashland", "Oakdale", "Millbrook",
)  # fmt: skip
AREA_CODES = (217, 309, 312, 414, 608, 618, 630, 708, 773, 815, 847, 920)
EMAIL_DOMAINS = ("example.com", "mail.example", "inbox.example", "post.example", "example.net")

TECHNICIANS = (
    "Luis Ortega", "Dana Whitfield", "Marcus Bell", "Ingrid Sorensen", "Tomasz Nowak",
    "Keisha Grant", "Ravi Menon", "Olivia Brandt", "Hector Salas", "Grace Achebe",
    "Peter Lindholm", "Yuki Tanaka",
)  # fmt: skip
CSR_NAMES = ("Casey Rivera", "Jordan Blake", "Morgan Tate", "Riley Chen", "Avery Collins")

METER_MODELS: dict[UtilityType, tuple[tuple[str, str], ...]] = {
    UtilityType.ELECTRICITY: (
        ("Smart AMI", "Landis+Gyr E350"),
        ("Smart AMI", "Itron OpenWay Riva"),
        ("Smart AMI", "Aclara I-210+c"),
        ("Digital", "Elster REX2"),
        ("Electromechanical", "GE I-70S"),
    ),
    UtilityType.WATER: (
        ("Ultrasonic", "Aquaflow X200"),
        ("Ultrasonic", "Kamstrup flowIQ 2200"),
        ("Positive Displacement", "Sensus iPERL"),
        ("Multi-jet", "Badger E-Series"),
        ("Multi-jet", "Neptune T-10"),
    ),
}

_STATUS_WEIGHTS: tuple[tuple[ConsumerStatus, float], ...] = (
    (ConsumerStatus.ACTIVE, 0.57),
    (ConsumerStatus.INACTIVE, 0.14),
    (ConsumerStatus.TEMPORARILY_DISCONNECTED, 0.14),
    (ConsumerStatus.PENDING, 0.05),
    (ConsumerStatus.DISCONNECTED, 0.06),
    (ConsumerStatus.COLLECTION, 0.04),
)
_CATEGORY_WEIGHTS: tuple[tuple[Category, float], ...] = (
    (Category.RESIDENTIAL, 0.80),
    (Category.COMMERCIAL, 0.12),
    (Category.INDUSTRIAL, 0.03),
    (Category.INSTITUTIONAL, 0.05),
)
_SUB_CATEGORY_WEIGHTS: dict[Category, tuple[float, ...]] = {
    Category.RESIDENTIAL: (0.75, 0.15, 0.10),
    Category.COMMERCIAL: (0.45, 0.35, 0.20),
    Category.INDUSTRIAL: (0.70, 0.30),
    Category.INSTITUTIONAL: (0.45, 0.15, 0.40),
}
METERED_STATUSES = frozenset(
    {ConsumerStatus.ACTIVE, ConsumerStatus.TEMPORARILY_DISCONNECTED, ConsumerStatus.COLLECTION}
)

# Monthly consumption ranges in the meter's unit (kWh, gallons), by category.
_USAGE: dict[UtilityType, dict[Category, tuple[int, int]]] = {
    UtilityType.ELECTRICITY: {
        Category.RESIDENTIAL: (350, 1_100),
        Category.COMMERCIAL: (1_500, 9_000),
        Category.INDUSTRIAL: (20_000, 120_000),
        Category.INSTITUTIONAL: (4_000, 30_000),
    },
    UtilityType.WATER: {
        Category.RESIDENTIAL: (2_500, 9_000),
        Category.COMMERCIAL: (8_000, 40_000),
        Category.INDUSTRIAL: (50_000, 300_000),
        Category.INSTITUTIONAL: (20_000, 120_000),
    },
}
# Typical monthly bill in cents, by category.
_BILL_CENTS: dict[Category, tuple[int, int]] = {
    Category.RESIDENTIAL: (6_000, 22_000),
    Category.COMMERCIAL: (30_000, 150_000),
    Category.INDUSTRIAL: (300_000, 2_000_000),
    Category.INSTITUTIONAL: (80_000, 600_000),
}

_METHOD_WEIGHTS: tuple[tuple[PaymentMethod, float], ...] = (
    (PaymentMethod.AUTO_DEBIT, 0.30),
    (PaymentMethod.CREDIT_CARD, 0.30),
    (PaymentMethod.BANK_TRANSFER, 0.25),
    (PaymentMethod.CASH, 0.08),
    (PaymentMethod.CHEQUE, 0.07),
)

_ORDER_TYPES: dict[ConsumerStatus, tuple[tuple[ServiceOrderType, float], ...]] = {
    ConsumerStatus.ACTIVE: (
        (ServiceOrderType.METER_READING, 0.25),
        (ServiceOrderType.MAINTENANCE, 0.20),
        (ServiceOrderType.REPAIRS, 0.18),
        (ServiceOrderType.INSPECTIONS, 0.17),
        (ServiceOrderType.INSTALLATIONS, 0.10),
        (ServiceOrderType.TRANSFER, 0.05),
        (ServiceOrderType.RECONNECTION, 0.05),
    ),
    ConsumerStatus.INACTIVE: (
        (ServiceOrderType.DISCONNECTION, 0.40),
        (ServiceOrderType.METER_READING, 0.20),
        (ServiceOrderType.INSPECTIONS, 0.20),
        (ServiceOrderType.TRANSFER, 0.20),
    ),
    ConsumerStatus.TEMPORARILY_DISCONNECTED: (
        (ServiceOrderType.DISCONNECTION, 0.50),
        (ServiceOrderType.METER_READING, 0.20),
        (ServiceOrderType.REPAIRS, 0.15),
        (ServiceOrderType.INSPECTIONS, 0.15),
    ),
    ConsumerStatus.COLLECTION: (
        (ServiceOrderType.DISCONNECTION, 0.40),
        (ServiceOrderType.METER_READING, 0.30),
        (ServiceOrderType.INSPECTIONS, 0.30),
    ),
    ConsumerStatus.DISCONNECTED: (
        (ServiceOrderType.DISCONNECTION, 0.60),
        (ServiceOrderType.INSPECTIONS, 0.20),
        (ServiceOrderType.METER_READING, 0.20),
    ),
    ConsumerStatus.PENDING: (
        (ServiceOrderType.INSTALLATIONS, 0.60),
        (ServiceOrderType.INSPECTIONS, 0.40),
    ),
}
_ORDER_DESCRIPTIONS: dict[ServiceOrderType, tuple[str, ...]] = {
    ServiceOrderType.TRANSFER: (
        "Transfer service to new account holder at the same address.",
        "Move-out final read and transfer of service to the new occupant.",
    ),
    ServiceOrderType.DISCONNECTION: (
        "Disconnect service for non-payment after final notice.",
        "Customer-requested disconnection: premises vacated.",
        "Temporary disconnection for renovation work at the premises.",
    ),
    ServiceOrderType.RECONNECTION: (
        "Restore service after arrears were cleared.",
        "Reconnect service for returning customer.",
    ),
    ServiceOrderType.METER_READING: (
        "Special reading requested: customer disputes last bill.",
        "Manual read: automatic reading not received this cycle.",
        "Check read after an unusually high reading.",
    ),
    ServiceOrderType.MAINTENANCE: (
        "Preventive maintenance on meter enclosure and seals.",
        "Replace meter battery flagged by the head-end system.",
    ),
    ServiceOrderType.REPAIRS: (
        "Repair leaking water meter coupling.",
        "Repair damaged service cable at the meter base.",
        "Replace cracked meter glass reported by customer.",
    ),
    ServiceOrderType.INSPECTIONS: (
        "Safety inspection of service connection.",
        "Tamper inspection: reading pattern flagged for review.",
        "Compliance inspection of backflow prevention device.",
    ),
    ServiceOrderType.INSTALLATIONS: (
        "Install new smart meter for new connection.",
        "Upgrade electromechanical meter to smart AMI meter.",
    ),
}

_COMMUNICATIONS: tuple[tuple[Channel, Direction, str | None, str], ...] = (
    (
        Channel.EMAIL,
        Direction.TO_CUSTOMER,
        "Your bill is ready",
        "Your latest bill is available in the portal.",
    ),
    (Channel.EMAIL, Direction.TO_CUSTOMER, "Payment received", "Thank you, we have received your payment."),
    (Channel.EMAIL, Direction.TO_CUSTOMER, "Payment reminder", "A payment on your account is past due."),
    (Channel.EMAIL, Direction.FROM_CUSTOMER, "Question about my bill", "Why is this month's bill higher?"),
    (Channel.EMAIL, Direction.FROM_CUSTOMER, "Paperless billing", "Please switch me to paperless billing."),
    (Channel.SMS, Direction.TO_CUSTOMER, None, "Reminder: a technician visit is scheduled for your address."),
    (Channel.SMS, Direction.TO_CUSTOMER, None, "Your payment was processed. Thank you."),
    (Channel.SMS, Direction.FROM_CUSTOMER, None, "Can the technician come after 2pm instead?"),
    (Channel.PHONE, Direction.FROM_CUSTOMER, "Billing enquiry", "Customer asked about an estimated reading."),
    (Channel.PHONE, Direction.FROM_CUSTOMER, "Outage report", "Customer reported a supply interruption."),
    (Channel.PHONE, Direction.TO_CUSTOMER, "Payment arrangement", "Agreed a payment plan for the balance."),
    (Channel.NOTE, Direction.INTERNAL, None, "Customer prefers contact by email."),
    (Channel.NOTE, Direction.INTERNAL, None, "Dog on premises; technicians to call ahead."),
)


# ---------------------------------------------------------------------------------------------
# Plans: a fixed catalogue, so plan ids mean the same thing in every seeded database
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PlanSpec:
    id: int
    name: str
    short_name: str
    category: Category
    sub_category: str
    monthly_fee_cents: int
    rates: dict[str, float]
    features: tuple[str, ...]
    active: bool
    services: tuple[tuple[UtilityType, bool], ...]  # (utility, metered)

    @property
    def metered(self) -> tuple[UtilityType, ...]:
        return tuple(u for u, metered in self.services if metered)


_CATEGORY_CODES = {
    Category.RESIDENTIAL: "RES",
    Category.COMMERCIAL: "COM",
    Category.INDUSTRIAL: "IND",
    Category.INSTITUTIONAL: "INS",
}
_SUB_CATEGORY_CODES = {
    "Standard": "STD",
    "Senior Citizen": "SNR",
    "Low Income": "LOW",
    "Small Business": "SMB",
    "Retail": "RTL",
    "Office": "OFF",
    "Light": "LGT",
    "Heavy": "HVY",
    "School": "SCH",
    "Hospital": "HSP",
    "Government": "GOV",
}
_BASE_FEE_CENTS = {
    Category.RESIDENTIAL: 1_250,
    Category.COMMERCIAL: 4_500,
    Category.INDUSTRIAL: 25_000,
    Category.INSTITUTIONAL: 8_000,
}
_BASE_RATES = {  # (per kWh, per gallon)
    Category.RESIDENTIAL: (0.14, 0.004),
    Category.COMMERCIAL: (0.12, 0.0045),
    Category.INDUSTRIAL: (0.09, 0.0035),
    Category.INSTITUTIONAL: (0.11, 0.0038),
}
_SUB_FACTORS = {  # (fee, rates)
    "Standard": (1.0, 1.0),
    "Senior Citizen": (0.8, 0.9),
    "Low Income": (0.6, 0.85),
    "Small Business": (0.8, 1.0),
    "Retail": (1.0, 1.0),
    "Office": (1.1, 0.98),
    "Light": (0.7, 1.0),
    "Heavy": (1.6, 0.9),
    "School": (0.9, 0.95),
    "Hospital": (1.4, 1.0),
    "Government": (1.0, 0.97),
}
_SUB_FEATURES = {
    "Senior Citizen": "Senior citizen discount",
    "Low Income": "Income-qualified assistance",
    "Heavy": "Demand charge schedule",
    "Hospital": "Critical-care supply priority",
    "School": "Term-time rates",
}
# tier code -> (name, fee factor, rate factor, water?, features, active)
_TIERS: dict[str, tuple[str, float, float, bool, tuple[str, ...], bool]] = {
    "ESS": ("Essential", 1.0, 1.0, True, ("Monthly billing", "Online account access"), True),
    "PWR": ("Power Only", 0.7, 1.0, False, ("Electricity only", "Online account access"), True),
    "PLS": (
        "Plus",
        1.5,
        0.95,
        True,
        ("Budget billing", "Priority support", "Free annual inspection", "Online account access"),
        True,
    ),
    "GRN": ("Green", 1.25, 1.0, False, ("100% renewable electricity", "Paperless billing"), True),
    "LGC": ("Legacy", 0.9, 1.05, True, ("Closed to new customers",), False),
}
# A third plan for some sub-categories; the rest offer Essential and Power Only.
_THIRD_TIER = {
    (Category.RESIDENTIAL, "Standard"): "PLS",
    (Category.RESIDENTIAL, "Senior Citizen"): "LGC",
    (Category.COMMERCIAL, "Small Business"): "PLS",
    (Category.COMMERCIAL, "Office"): "GRN",
    (Category.INDUSTRIAL, "Light"): "LGC",
    (Category.INDUSTRIAL, "Heavy"): "PLS",
    (Category.INSTITUTIONAL, "School"): "GRN",
    (Category.INSTITUTIONAL, "Hospital"): "PLS",
    (Category.INSTITUTIONAL, "Government"): "LGC",
}


def _plan_catalogue() -> list[_PlanSpec]:
    plans: list[_PlanSpec] = []
    for category, subs in SUB_CATEGORIES.items():
        for sub in subs:
            tiers = ["ESS", "PWR"] + ([_THIRD_TIER[category, sub]] if (category, sub) in _THIRD_TIER else [])
            fee_factor, rate_factor = _SUB_FACTORS[sub]
            per_kwh, per_gallon = _BASE_RATES[category]
            for tier in tiers:
                tier_name, tier_fee, tier_rate, water, features, active = _TIERS[tier]
                kwh = per_kwh * rate_factor * tier_rate + (0.02 if tier == "GRN" else 0.0)
                rates: dict[str, float] = {"electricity_per_kwh": round(kwh, 4)}
                services: list[tuple[UtilityType, bool]] = [(UtilityType.ELECTRICITY, True)]
                extra: tuple[str, ...] = (_SUB_FEATURES[sub],) if sub in _SUB_FEATURES else ()
                if water and sub == "Low Income" and tier == "ESS":
                    # Income-qualified households pay a flat water charge: no water meter to read.
                    rates["water_flat_monthly"] = 18.0
                    services.append((UtilityType.WATER, False))
                    extra += ("Flat-rate water",)
                elif water:
                    rates["water_per_gallon"] = round(per_gallon * rate_factor * tier_rate, 5)
                    services.append((UtilityType.WATER, True))
                plans.append(
                    _PlanSpec(
                        id=len(plans) + 1,
                        name=f"{sub} {category.value} {tier_name}",
                        short_name=f"{_CATEGORY_CODES[category]}-{_SUB_CATEGORY_CODES[sub]}-{tier}",
                        category=category,
                        sub_category=sub,
                        monthly_fee_cents=round(_BASE_FEE_CENTS[category] * fee_factor * tier_fee),
                        rates=rates,
                        features=features + extra,
                        active=active,
                        services=tuple(services),
                    )
                )
    return plans


PLANS: list[_PlanSpec] = _plan_catalogue()


class _PlanPools(NamedTuple):
    with_water_meter: tuple[_PlanSpec, ...]
    without_water_meter: tuple[_PlanSpec, ...]


def _plan_pools() -> dict[tuple[Category, str], _PlanPools]:
    pools: dict[tuple[Category, str], _PlanPools] = {}
    for category, subs in SUB_CATEGORIES.items():
        for sub in subs:
            offered = [p for p in PLANS if p.category == category and p.sub_category == sub and p.active]
            wet = tuple(p for p in offered if UtilityType.WATER in p.metered)
            dry = tuple(p for p in offered if UtilityType.WATER not in p.metered)
            pools[category, sub] = _PlanPools(wet or dry, dry or wet)
    return pools


_PLAN_POOLS = _plan_pools()


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


class _Random(random.Random):
    """``random.Random`` plus integer draws ~10x cheaper than ``randint``; the seeder makes millions."""

    def below(self, n: int) -> int:
        """An integer in ``[0, n)``."""
        return int(self.random() * n)

    def between(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return low + int(self.random() * (high - low + 1))


def _pick(rng: _Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    r = rng.random()
    for value, weight in weighted:
        r -= weight
        if r < 0:
            return value
    return weighted[-1][0]


def _add_months(d: date, months: int) -> date:
    # Bill and read days are 1..28, so the day always exists.
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, d.day)


def _last_on_day(day: int, on_or_before: date) -> date:
    """The latest date with day-of-month ``day`` (1..28) that is not after ``on_or_before``."""
    d = on_or_before.replace(day=day)
    return d if d <= on_or_before else _add_months(d, -1)


def _at(d: date, rng: _Random, first_hour: int = 8, last_hour: int = 17) -> datetime:
    return datetime(d.year, d.month, d.day, rng.between(first_hour, last_hour), rng.below(60), tzinfo=UTC)


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class _Profile(NamedTuple):
    """What a consumer's row counts depend on, drawn from its own stream so totals are known up front."""

    category: Category
    sub_category: str
    status: ConsumerStatus
    plan: _PlanSpec | None
    payments: int
    service_orders: int
    communications: int


_READINGS_PER_METER = 6


def _profiles(rng: _Random, n: int) -> Iterator[_Profile]:
    for _ in range(n):
        category: Category = _pick(rng, _CATEGORY_WEIGHTS)
        subs = SUB_CATEGORIES[category]
        sub = _pick(rng, tuple(zip(subs, _SUB_CATEGORY_WEIGHTS[category], strict=True)))
        status: ConsumerStatus = _pick(rng, _STATUS_WEIGHTS)
        plan = None
        wants_water = rng.random() < 0.6
        if status in METERED_STATUSES:
            pools = _PLAN_POOLS[category, sub]
            pool = pools.with_water_meter if wants_water else pools.without_water_meter
            plan = pool[rng.below(len(pool))]
        payments = rng.between(0, 1) if status is ConsumerStatus.PENDING else 6
        r = rng.random()
        orders = 0 if r < 0.75 else 1 if r < 0.95 else 2
        comms = rng.between(1, 4) if rng.random() < 0.10 else 0
        yield _Profile(category, sub, status, plan, payments, orders, comms)


def _totals(profile_seed: int, consumers: int) -> dict[str, int]:
    totals = dict.fromkeys(_CONSUMER_TABLES, 0)
    totals["consumers"] = consumers
    for p in _profiles(_Random(profile_seed), consumers):
        if p.plan is not None:
            meters = len(p.plan.metered)
            totals["meters"] += meters
            totals["meter_assignments"] += meters
            totals["meter_readings"] += meters * _READINGS_PER_METER
            totals["billing_accounts"] += 1
        totals["payments"] += p.payments
        totals["service_orders"] += p.service_orders
        totals["communications"] += p.communications
    return totals


def _stock_counts(consumers: int) -> tuple[int, int]:
    """Meters in stock per utility: (available, in maintenance)."""
    return max(50, consumers // 5), max(3, consumers // 1000)


@dataclass
class _Ids:
    meter: int = 0
    assignment: int = 0
    reading: int = 0
    billing: int = 0
    payment: int = 0
    order: int = 0
    communication: int = 0


class _Generator:
    """Turns profiles into rows, consumer by consumer, from one detail stream."""

    def __init__(self, rng: _Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.ids = _Ids()

    def consumer(self, consumer_id: int, p: _Profile, out: dict[str, list[dict[str, Any]]]) -> None:
        rng, today = self.rng, self.today
        first = FIRST_NAMES[rng.below(len(FIRST_NAMES))]
        last = LAST_NAMES[rng.below(len(LAST_NAMES))]
        customer_since = today - timedelta(days=rng.between(365, 25 * 365))
        bill_day = rng.between(1, 28)
        status = p.status
        # The day service (and billing) last ran: today for live accounts, earlier for the rest.
        if status is ConsumerStatus.ACTIVE:
            served_until = today
        elif status in METERED_STATUSES:
            served_until = today - timedelta(days=rng.between(20, 120))
        elif status is ConsumerStatus.PENDING:
            served_until = None
        else:
            served_until = max(
                customer_since + timedelta(days=200), today - timedelta(days=rng.between(60, 3 * 365))
            )
        last_billing = _last_on_day(bill_day, served_until) if served_until else None

        balance_cents = 0
        r = rng.random()
        if status is ConsumerStatus.COLLECTION:
            balance_cents = rng.between(50_000, 500_000)
        elif status is ConsumerStatus.TEMPORARILY_DISCONNECTED:
            balance_cents = rng.between(10_000, 250_000) if r < 0.8 else 0
        elif status is ConsumerStatus.DISCONNECTED:
            balance_cents = rng.between(5_000, 300_000) if r < 0.6 else 0
        elif status is ConsumerStatus.ACTIVE:
            balance_cents = rng.between(1_500, 45_000) if r < 0.35 else 0
        elif status is ConsumerStatus.INACTIVE:
            balance_cents = rng.between(500, 20_000) if r < 0.15 else 0

        fraud_risk = 0.03 if status in (ConsumerStatus.COLLECTION, ConsumerStatus.DISCONNECTED) else 0.003
        portal = rng.random() < 0.45
        handle = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
        number = rng.between(1, 99)
        email = f"{handle}{number}@{EMAIL_DOMAINS[rng.below(len(EMAIL_DOMAINS))]}"
        created = _at(customer_since, rng)
        out["consumers"].append(
            {
                "id": consumer_id,
                "account_number": f"WU-{10000 + consumer_id}",
                "first_name": first,
                "last_name": last,
                "phone": f"({AREA_CODES[rng.below(len(AREA_CODES))]}) "
                f"{rng.between(201, 989)}-{rng.between(0, 9999):04d}",
                "email": email if rng.random() < 0.92 else None,
                "service_address": f"{rng.between(1, 9899)} {STREETS[rng.below(len(STREETS))]} "
                f"{STREET_SUFFIXES[rng.below(len(STREET_SUFFIXES))]}, "
                f"{CITIES[rng.below(len(CITIES))]}",
                "category": p.category,
                "sub_category": p.sub_category,
                "status": status,
                # set by the VIP rule after seeding (cli refresh-vip); drawn still, so the data after it stays the same
                "is_vip": rng.random() < 0,
                "balance": _money(balance_cents),
                "last_billing_date": last_billing,
                "customer_since": customer_since,
                "portal_enrolled": portal,
                "paperless_billing": rng.random() < (0.6 if portal else 0.05),
                "fraud_flag": rng.random() < fraud_risk,
                "locked_by_request": None,
                "created_at": created,
                "updated_at": _at(last_billing, rng) if last_billing else created,
            }
        )

        preferred: PaymentMethod = _pick(rng, _METHOD_WEIGHTS)
        if p.plan is not None and served_until is not None and last_billing is not None:
            for utility in p.plan.metered:
                self._meter(consumer_id, p.category, utility, customer_since, bill_day, served_until, out)
            quarterly = rng.random() < (0.3 if p.category is not Category.RESIDENTIAL else 0.1)
            self.ids.billing += 1
            out["billing_accounts"].append(
                {
                    "id": self.ids.billing,
                    "consumer_id": consumer_id,
                    "plan_id": p.plan.id,
                    "request_id": None,
                    "billing_cycle": BillingCycle.QUARTERLY if quarterly else BillingCycle.MONTHLY,
                    "payment_mode": PaymentMode.AUTO_PAY
                    if preferred is PaymentMethod.AUTO_DEBIT
                    else PaymentMode.MANUAL,
                    "cycle_start": customer_since
                    + timedelta(days=rng.between(0, (last_billing - customer_since).days)),
                    "next_bill_date": _add_months(last_billing, 3 if quarterly else 1),
                    "active": status is ConsumerStatus.ACTIVE,
                }
            )
        if p.payments:
            self._payments(consumer_id, p, preferred, last_billing or customer_since, out)
        for _ in range(p.service_orders):
            self._service_order(consumer_id, status, customer_since, out)
        for _ in range(p.communications):
            self._communication(consumer_id, f"{first} {last}", customer_since, out)

    def _meter(
        self,
        consumer_id: int,
        category: Category,
        utility: UtilityType,
        customer_since: date,
        read_day: int,
        served_until: date,
        out: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng = self.rng
        self.ids.meter += 1
        meter_id = self.ids.meter
        installed = customer_since
        if rng.random() < 0.35:  # replaced since the account opened, but before the readings shown
            latest = served_until - timedelta(days=240)
            installed += timedelta(days=rng.between(0, max(0, (latest - customer_since).days)))
        low, high = _USAGE[utility][category]
        monthly = rng.between(low * 100, high * 100)  # hundredths of a unit
        last_date = _last_on_day(read_day, served_until)
        first_date = _add_months(last_date, 1 - _READINGS_PER_METER)
        months_before = max(1, (first_date - installed).days // 30)
        value = int(monthly * months_before * rng.uniform(0.8, 1.2))

        anomaly = rng.random() < 0.01
        anomaly_at = rng.between(1, _READINGS_PER_METER - 1) if anomaly else -1
        spike = rng.random() < 0.5
        readings = out["meter_readings"]
        last_value = 0
        for k in range(_READINGS_PER_METER):
            reading_date = _add_months(first_date, k)
            value += int(monthly * rng.uniform(0.75, 1.3))
            shown = value
            verification = VerificationStatus.VERIFIED
            if k == anomaly_at:
                verification = VerificationStatus.PENDING
                if spike:  # a real surge (a leak, a new load): later readings carry on from it
                    value += monthly * rng.between(4, 9)
                    shown = value
                else:  # a misread below the previous reading: later readings ignore it
                    shown = int(last_value * rng.uniform(0.5, 0.95))
            elif rng.random() < (0.06 if k == _READINGS_PER_METER - 1 else 0.01):
                verification = VerificationStatus.PENDING
            self.ids.reading += 1
            readings.append(
                {
                    "id": self.ids.reading,
                    "meter_id": meter_id,
                    "consumer_id": consumer_id,
                    "reading_date": reading_date,
                    "value": _money(shown),
                    "verification_status": verification,
                    "recorded_at": _at(reading_date, rng, 7, 18),
                }
            )
            last_value = shown

        meter_type, model = METER_MODELS[utility][rng.below(len(METER_MODELS[utility]))]
        out["meters"].append(
            {
                "id": meter_id,
                "meter_number": f"M-{100000 + meter_id}",
                "device_number": f"D-{500000 + meter_id}",
                "utility": utility,
                "meter_type": meter_type,
                "model": model,
                "installation_date": installed,
                "status": MeterStatus.ASSIGNED,
                "last_reading": _money(last_value),
                "last_reading_date": _add_months(first_date, _READINGS_PER_METER - 1),
            }
        )
        self.ids.assignment += 1
        out["meter_assignments"].append(
            {
                "id": self.ids.assignment,
                "meter_id": meter_id,
                "consumer_id": consumer_id,
                "request_id": None,
                "assigned_on": installed,
                "unassigned_on": None,
                "initial_reading": _money(0),
                "final_reading": None,
            }
        )

    def _payments(
        self,
        consumer_id: int,
        p: _Profile,
        preferred: PaymentMethod,
        last_bill: date,
        out: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng, today = self.rng, self.today
        status = p.status
        on_time = {
            ConsumerStatus.ACTIVE: 0.9,
            ConsumerStatus.TEMPORARILY_DISCONNECTED: 0.6,
            ConsumerStatus.COLLECTION: 0.35,
            ConsumerStatus.DISCONNECTED: 0.55,
        }.get(status, 0.85)
        failure = 0.15 if status is ConsumerStatus.COLLECTION else 0.03
        low, high = _BILL_CENTS[p.category]
        typical = rng.between(low, high)
        payments = out["payments"]
        for k in range(p.payments - 1, -1, -1):
            due = _add_months(last_bill, -k) + timedelta(days=21)
            method = preferred if rng.random() < 0.8 else _pick(rng, _METHOD_WEIGHTS)
            amount = max(100, int(typical * rng.uniform(0.75, 1.3)))
            r = rng.random()
            paid_on: date | None
            if r < failure and due <= today:
                paid_on = None
            elif rng.random() < on_time:
                paid_on = due - timedelta(days=rng.between(0, 18))
            else:
                paid_on = due + timedelta(days=rng.between(1, 45))
            if paid_on is None:
                pay_status = PaymentStatus.FAILED
            elif paid_on > today:  # not paid yet: the bill is still open
                pay_status, paid_on = PaymentStatus.PENDING, None
            else:
                pay_status = PaymentStatus.PROCESSED
            self.ids.payment += 1
            payments.append(
                {
                    "id": self.ids.payment,
                    "consumer_id": consumer_id,
                    "reference": f"PAY-{self.ids.payment:06d}",
                    "due_date": due,
                    "paid_on": paid_on,
                    "amount": _money(amount),
                    "method": method,
                    "status": pay_status,
                }
            )

    def _service_order(
        self,
        consumer_id: int,
        status: ConsumerStatus,
        customer_since: date,
        out: dict[str, list[dict[str, Any]]],
    ) -> None:
        rng, today = self.rng, self.today
        kind: ServiceOrderType = _pick(rng, _ORDER_TYPES[status])
        descriptions = _ORDER_DESCRIPTIONS[kind]
        age = rng.between(0, min(365, (today - customer_since).days))
        if kind in (ServiceOrderType.DISCONNECTION, ServiceOrderType.RECONNECTION):
            age = max(
                age, 15
            )  # these brought about the current status, so they are done; new ones are requests
        created = _at(today - timedelta(days=age), rng)
        completed_at = None
        technician: str | None = TECHNICIANS[rng.below(len(TECHNICIANS))]
        if age <= 14:
            if rng.random() < 0.6:
                order_status = ServiceOrderStatus.SCHEDULED
                scheduled = today + timedelta(days=rng.between(1, 14))
                if rng.random() < 0.3:
                    technician = None
            else:
                order_status = ServiceOrderStatus.IN_PROGRESS
                scheduled = today - timedelta(days=rng.between(0, age))
        else:
            scheduled = created.date() + timedelta(days=rng.between(1, 10))
            if rng.random() < 0.93 or kind in (ServiceOrderType.DISCONNECTION, ServiceOrderType.RECONNECTION):
                order_status = ServiceOrderStatus.COMPLETED
                completed_at = _at(min(scheduled, today), rng, 9, 18)
            else:
                order_status = ServiceOrderStatus.IN_PROGRESS
        self.ids.order += 1
        out["service_orders"].append(
            {
                "id": self.ids.order,
                "order_number": f"SO-{4000 + self.ids.order}",
                "consumer_id": consumer_id,
                "request_id": None,
                "service_type": kind,
                "description": descriptions[rng.below(len(descriptions))],
                "status": order_status,
                "technician": technician,
                "created_at": created,
                "scheduled_date": scheduled,
                "completed_at": completed_at,
                "idempotency_key": None,
            }
        )

    def _communication(
        self, consumer_id: int, full_name: str, customer_since: date, out: dict[str, list[dict[str, Any]]]
    ) -> None:
        rng, today = self.rng, self.today
        channel, direction, subject, body = _COMMUNICATIONS[rng.below(len(_COMMUNICATIONS))]
        if direction is Direction.FROM_CUSTOMER:
            author = full_name
        elif channel in (Channel.EMAIL, Channel.SMS) and rng.random() < 0.5:
            author = "system"
        else:
            author = CSR_NAMES[rng.below(len(CSR_NAMES))]
        age = rng.between(0, min(180, (today - customer_since).days))
        self.ids.communication += 1
        out["communications"].append(
            {
                "id": self.ids.communication,
                "consumer_id": consumer_id,
                "request_id": None,
                "channel": channel,
                "direction": direction,
                "visibility": Visibility.INTERNAL if direction is Direction.INTERNAL else Visibility.CONSUMER,
                "subject": subject,
                "body": body,
                "duration_seconds": rng.between(45, 900) if channel is Channel.PHONE else None,
                "author": author,
                "created_at": _at(today - timedelta(days=age), rng),
                "idempotency_key": None,
            }
        )

    def stock_meters(self, consumers: int) -> list[dict[str, Any]]:
        """Meters on the shelf: available for reconnections, and a few away for maintenance."""
        rng, today = self.rng, self.today
        available, maintenance = _stock_counts(consumers)
        rows: list[dict[str, Any]] = []
        for utility in UtilityType:
            models = METER_MODELS[utility]
            for i in range(available + maintenance):
                self.ids.meter += 1
                meter_type, model = models[rng.below(len(models))]
                refurbished = rng.random() < 0.3
                rows.append(
                    {
                        "id": self.ids.meter,
                        "meter_number": f"M-{100000 + self.ids.meter}",
                        "device_number": f"D-{500000 + self.ids.meter}",
                        "utility": utility,
                        "meter_type": meter_type,
                        "model": model,
                        "installation_date": today - timedelta(days=rng.between(10, 900)),
                        "status": MeterStatus.AVAILABLE if i < available else MeterStatus.MAINTENANCE,
                        "last_reading": _money(rng.between(100, 5_000_000)) if refurbished else None,
                        "last_reading_date": today - timedelta(days=rng.between(30, 700))
                        if refurbished
                        else None,
                    }
                )
        return rows


def _reference_rows(rng: _Random, today: date, password_hashes: list[str]) -> dict[str, list[dict[str, Any]]]:
    started = datetime(today.year, today.month, today.day, 9, tzinfo=UTC) - timedelta(days=365)
    return {
        "utility_services": [
            {"code": UtilityType.ELECTRICITY, "name": "Electricity", "unit": "kWh"},
            {"code": UtilityType.WATER, "name": "Water", "unit": "gallons"},
        ],
        "users": [
            {
                "id": i,
                "username": u.username,
                "full_name": u.full_name,
                "email": f"{u.username}@utility.example",
                "role": u.role,
                "password_hash": h,
                "is_active": True,
                "created_at": started,
            }
            for i, (u, h) in enumerate(zip(DEMO_USERS, password_hashes, strict=True), start=1)
        ],
        "time_slots": [
            {
                "id": i,
                "label": f"{start:%H:%M}-{end:%H:%M}",
                "start_time": start,
                "end_time": end,
                "capacity_per_day": rng.between(3, 5),
                "active": True,
            }
            for i, (start, end) in enumerate(TIME_SLOT_WINDOWS, start=1)
        ],
        "system_settings": [
            {"key": key, "value": value, "updated_by": "seed", "updated_at": started}
            for key, value in DEFAULT_SETTINGS.items()
        ],
        "plans": [
            {
                "id": p.id,
                "name": p.name,
                "short_name": p.short_name,
                "category": p.category,
                "sub_category": p.sub_category,
                "monthly_fee": _money(p.monthly_fee_cents),
                "rates": p.rates,
                "features": list(p.features),
                "active": p.active,
            }
            for p in PLANS
        ],
        "plan_services": [
            {"id": i, "plan_id": plan_id, "utility": utility, "metered": metered}
            for i, (plan_id, utility, metered) in enumerate(
                ((p.id, u, m) for p in PLANS for u, m in p.services), start=1
            )
        ],
    }


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class _Writer:
    """Inserts batches and reports progress; on PostgreSQL the consumer tables go through COPY."""

    def __init__(self, conn: AsyncConnection, totals: dict[str, int], progress: ProgressFn | None) -> None:
        self.conn = conn
        self.totals = totals
        self.progress = progress
        self.done = dict.fromkeys(totals, 0)
        self.seconds = dict.fromkeys(totals, 0.0)
        self.copy = conn.dialect.name == "postgresql"
        if progress is not None:  # announce every phase and its size before the first row
            for name, total in totals.items():
                progress(name, 0, total)

    async def write(self, name: str, rows: list[dict[str, Any]]) -> None:
        statement = insert(_BY_NAME[name])
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            began = perf_counter()
            if self.copy and name in _CONSUMER_TABLES:
                await self._copy(name, batch)
            else:
                await self.conn.execute(statement, batch)
            self.seconds[name] += perf_counter() - began
            self.done[name] += len(batch)
            if self.progress is not None:
                self.progress(name, self.done[name], self.totals[name])

    async def _copy(self, name: str, batch: list[dict[str, Any]]) -> None:
        # Row-by-row INSERTs cost PostgreSQL ~3x more server time than COPY, which decides whether
        # 100k consumers fit in two minutes. COPY skips SQLAlchemy's bind processing, so these
        # tables hold no JSON and only aware datetimes. It runs in the connection's transaction.
        columns = list(batch[0])
        getter = itemgetter(*columns)
        raw = await self.conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            name, columns=columns, records=[getter(row) for row in batch]
        )


async def _write_consumers(
    writer: _Writer, generator: _Generator, profiles: Iterator[_Profile], consumers: int, *, overlap: bool
) -> None:
    """Generate the consumers' rows chunk by chunk, in order, in a worker thread, and write each chunk.

    With ``overlap`` chunk k+1 is generated while chunk k is written, so PostgreSQL's own process
    works while Python builds rows. Not on SQLite: aiosqlite's thread needs the GIL between rows,
    and a third busy thread slowed seeding there (measured 86 s against 74 s for 100k).
    """

    def generate(first: int) -> dict[str, list[dict[str, Any]]]:
        chunk: dict[str, list[dict[str, Any]]] = {name: [] for name in _CONSUMER_TABLES}
        for consumer_id in range(first, min(first + _CHUNK_CONSUMERS, consumers + 1)):
            generator.consumer(consumer_id, next(profiles), chunk)
        return chunk

    starts = list(range(1, consumers + 1, _CHUNK_CONSUMERS))
    pending: asyncio.Future[dict[str, list[dict[str, Any]]]] | None = None
    try:
        for i, first in enumerate(starts):
            chunk = await (pending or asyncio.to_thread(generate, first))
            pending = None
            if overlap and i + 1 < len(starts):
                pending = asyncio.ensure_future(asyncio.to_thread(generate, starts[i + 1]))
            for name in _CONSUMER_TABLES:
                await writer.write(name, chunk[name])
    finally:
        if pending is not None:  # a write failed: let the running generation finish, then drop it
            await asyncio.gather(pending, return_exceptions=True)


async def _existing_rows(conn: AsyncConnection) -> dict[str, int]:
    """Tables seed writes that already hold rows: the consumer count, or 1 for any other table."""
    present = set(await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names()))
    missing = [t.name for t in TABLES if t.name not in present]
    if missing:
        raise SeedError(f"database has no {', '.join(missing)} table(s); apply the migrations first")
    found = {
        "consumers": (
            await conn.execute(select(func.count()).select_from(_BY_NAME["consumers"]))
        ).scalar_one()
    }
    for table in TABLES:
        if table.name != "consumers":
            row = (await conn.execute(select(text("1")).select_from(table).limit(1))).first()
            found[table.name] = 0 if row is None else 1
    return {name: n for name, n in found.items() if n}


async def is_empty(engine: AsyncEngine) -> bool:
    """True when none of the tables ``seed`` writes has a row, i.e. ``seed`` would not refuse.

    Raises SeedError when the schema is missing (migrations not applied).
    """
    async with engine.connect() as conn:
        return not await _existing_rows(conn)


async def _reset_sequences(conn: AsyncConnection) -> None:
    # Explicit ids leave PostgreSQL's sequences at 1; the next ordinary INSERT would collide.
    for table in TABLES:
        if "id" in table.c:
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                    f"(SELECT MAX(id) IS NOT NULL FROM {table.name}))"
                )
            )


async def seed(
    engine: AsyncEngine,
    *,
    consumers: int = 1000,
    seed: int = 42,
    progress: ProgressFn | None = None,
    today: date | None = None,
) -> SeedSummary:
    """Fill an empty, migrated database with demo data and return the rows written per table.

    Writes utility services, the ``DEMO_USERS`` logins, time slots, SLA settings, the plan
    catalogue, ``consumers`` consumers with their meters, readings, billing accounts, payments,
    service orders and communications, and meters in stock. The same ``seed`` and ``today``
    (default ``SEED_TODAY``) always give the same data. ``progress(table, done, total)`` is
    called after every batch. Everything is one transaction: a failure leaves the database empty.

    Refuses (SeedError) a database that already has consumers or any other seeded row, one
    without the schema, and a negative ``consumers``.
    """
    if consumers < 0:
        raise SeedError(f"consumers must be 0 or more, not {consumers}")
    today = today or SEED_TODAY
    began = perf_counter()
    master = _Random(seed)
    profile_seed, detail_seed, reference_seed = (master.getrandbits(64) for _ in range(3))

    # Hashing takes a moment of CPU: off the event loop, and before the write transaction opens.
    password_hashes = await asyncio.to_thread(lambda: [hash_password(u.password) for u in DEMO_USERS])
    reference = _reference_rows(_Random(reference_seed), today, password_hashes)
    totals = {name: len(rows) for name, rows in reference.items()}
    totals.update(_totals(profile_seed, consumers))
    totals["meters"] += sum(_stock_counts(consumers)) * len(UtilityType)
    totals = {t.name: totals[t.name] for t in TABLES}

    generator = _Generator(_Random(detail_seed), today)
    profiles = _profiles(_Random(profile_seed), consumers)
    async with engine.begin() as conn:
        existing = await _existing_rows(conn)
        if existing.get("consumers"):
            raise SeedError(f"database already has {existing['consumers']} consumers; seed an empty database")
        if existing:
            raise SeedError(f"database already has rows in {', '.join(existing)}; seed an empty database")
        writer = _Writer(conn, totals, progress)
        cache_size = None
        if conn.dialect.name == "sqlite":
            # The whole seed is one transaction; a bigger page cache keeps the index pages it
            # touches in memory instead of spilling them (~10% faster at 100k consumers).
            cache_size = (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one()
            await conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        try:
            for name, rows in reference.items():
                await writer.write(name, rows)
            await _write_consumers(writer, generator, profiles, consumers, overlap=writer.copy)
            await writer.write("meters", generator.stock_meters(consumers))
        finally:
            if cache_size is not None:
                await conn.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
        if writer.done != totals:  # _totals and _Generator disagree: a bug here, so write nothing
            raise AssertionError(f"generated {writer.done}, expected {totals}")
        if conn.dialect.name == "postgresql":
            await _reset_sequences(conn)
        await conn.execute(text("ANALYZE"))  # statistics for the planner (db.migrate.refresh_statistics)

    return SeedSummary(rows=writer.done, seconds=perf_counter() - began, insert_seconds=writer.seconds)
