"""Generated SQLite databases: three schemas (``shop``, ``school``, ``flights``) filled from a seed.

``build_database(schema, seed)`` returns a :class:`Database`: the SQLite file as bytes (its
``image``, loaded into a private in-memory connection by
:func:`~agentgym.envs.tools.sql.executor.connect_read_only`), its tables with a few sample
values per column, and the text an agent is shown (the ``CREATE`` statements and three sample
rows per table). The same ``(schema, seed)`` always gives the same bytes; a database takes tens
of milliseconds to build and the last :data:`CACHE_SIZE` are kept in memory.

Sizes are those of a small real application: hundreds of customers, students or passengers,
thousands of orders, enrollments or bookings, with skewed distributions (a few customers order
a lot, some products sell rarely) and a few NULLs where real data has gaps.
"""

from __future__ import annotations

import datetime
import functools
import random
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

from agentgym.core import ConfigError
from agentgym.envs.tools.sql import vocab

SCHEMAS = ("shop", "school", "flights")
#: How many built databases stay in memory (each is a few hundred kilobytes).
CACHE_SIZE = 64
_SAMPLE_ROWS = 3
_SAMPLE_VALUES = 12


@dataclass(frozen=True)
class Table:
    """One table: its name, ``(column, declared type)`` pairs, row count, and a few distinct
    values per column (for random queries)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    rows: int
    samples: dict[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Database:
    """A generated database. ``image`` is the SQLite file; ``description`` is what the agent
    sees of it (``CREATE`` statements and sample rows)."""

    schema: str
    seed: int
    image: bytes
    tables: tuple[Table, ...]
    description: str

    @property
    def name(self) -> str:
        return f"{self.schema}_{self.seed}"


def build_database(schema: str, seed: int) -> Database:
    """The database of ``schema`` generated from ``seed`` (cached; see the module docstring).

    Raises:
        ConfigError: an unknown schema or a seed that is not a non-negative integer.
    """
    if schema not in SCHEMAS:
        raise ConfigError(f"unknown SQL schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"a database seed must be a non-negative integer, got {seed!r}")
    return _build(schema, seed)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _build(schema: str, seed: int) -> Database:
    rng = random.Random(f"agentgym-sql-{schema}-{seed}")
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(_DDL[schema])
        _GENERATORS[schema](rng, connection)
        connection.commit()
        tables = _describe_tables(connection)
        description = _render_description(connection, tables)
        image = connection.serialize()
    finally:
        connection.close()
    return Database(schema, seed, image, tables, description)


# ------------------------------------------------------------------ description
def _describe_tables(connection: sqlite3.Connection) -> tuple[Table, ...]:
    tables = []
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
    for name in names:
        columns = tuple((row[1], row[2]) for row in connection.execute(f'PRAGMA table_info("{name}")'))
        count = connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
        samples = {
            column: tuple(row[0] for row in connection.execute(
                f'SELECT DISTINCT "{column}" FROM "{name}" WHERE "{column}" IS NOT NULL '
                f'ORDER BY rowid LIMIT {_SAMPLE_VALUES}'))
            for column, _ in columns
        }
        tables.append(Table(name, columns, count, samples))
    return tuple(tables)


def _render_description(connection: sqlite3.Connection, tables: tuple[Table, ...]) -> str:
    parts = []
    for table in tables:
        ddl = connection.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table.name,)).fetchone()[0]
        rows = connection.execute(f'SELECT * FROM "{table.name}" ORDER BY rowid LIMIT {_SAMPLE_ROWS}').fetchall()
        header = " | ".join(column for column, _ in table.columns)
        lines = [" | ".join("NULL" if value is None else str(value) for value in row) for row in rows]
        parts.append(f"{ddl};\n-- {table.rows} rows; the first {len(rows)}:\n-- {header}\n"
                     + "\n".join(f"-- {line}" for line in lines))
    return "\n\n".join(parts)


# ------------------------------------------------------------------ helpers
_EPOCH = datetime.date(2023, 1, 1).toordinal()
_DAYS = datetime.date(2024, 12, 31).toordinal() - _EPOCH + 1


def _day(rng: random.Random, first: int = 0, last: int = _DAYS - 1) -> str:
    """An ISO date between day ``first`` and ``last`` of 2023-2024 (0 is 2023-01-01)."""
    return datetime.date.fromordinal(_EPOCH + rng.randint(first, last)).isoformat()


def _skewed_weights(rng: random.Random, n: int, alpha: float = 1.6) -> list[float]:
    """Heavy-tailed popularity weights: a few items are picked much more often than most."""
    return [rng.paretovariate(alpha) for _ in range(n)]


def _people(rng: random.Random, n: int) -> list[tuple[str, str]]:
    return [(rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)) for _ in range(n)]


# ------------------------------------------------------------------ shop
_SHOP_DDL = """
CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    signup_date TEXT NOT NULL,
    is_member INTEGER NOT NULL
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    category_id INTEGER NOT NULL REFERENCES categories (category_id),
    price REAL NOT NULL,
    stock INTEGER NOT NULL,
    rating REAL
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    order_date TEXT NOT NULL,
    status TEXT NOT NULL,
    shipping_cost REAL NOT NULL
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    product_id INTEGER NOT NULL REFERENCES products (product_id),
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX order_items_product ON order_items (product_id);
CREATE INDEX products_category ON products (category_id);
"""

ORDER_STATUSES = ("delivered", "shipped", "processing", "cancelled", "returned")


def _generate_shop(rng: random.Random, connection: sqlite3.Connection) -> None:
    categories = list(vocab.PRODUCT_CATEGORIES)
    connection.executemany("INSERT INTO categories VALUES (?, ?)", enumerate(categories, 1))

    n_customers = rng.randint(300, 450)
    cities = rng.sample(vocab.CITIES, 14)
    city_weights = _skewed_weights(rng, len(cities), 1.2)
    customers = []
    for customer_id, (first, last) in enumerate(_people(rng, n_customers), 1):
        city, country = rng.choices(cities, city_weights)[0]
        customers.append((customer_id, first, last, f"{first}.{last}{customer_id}@example.com".lower(),
                          city, country, _day(rng, 0, 540), int(rng.random() < 0.35)))
    connection.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", customers)

    products, names = [], set()
    n_products = rng.randint(120, 180)
    while len(products) < n_products:
        category_id = rng.randint(1, len(categories))
        kinds = vocab.PRODUCT_CATEGORIES[categories[category_id - 1]]
        name = f"{rng.choice(vocab.PRODUCT_ADJECTIVES)} {rng.choice(kinds)}"
        if name in names:
            continue
        names.add(name)
        price = round(rng.lognormvariate(3.4, 0.8), 2)
        rating = None if rng.random() < 0.08 else round(rng.uniform(2.0, 5.0), 1)
        products.append((len(products) + 1, name, category_id, price, rng.randint(0, 400), rating))
    connection.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?)", products)

    n_orders = rng.randint(1500, 2400)
    customer_weights = _skewed_weights(rng, n_customers)
    product_weights = _skewed_weights(rng, n_products, 1.3)
    buyers = rng.choices(range(1, n_customers + 1), customer_weights, k=n_orders)
    orders, items = [], []
    for order_id, customer_id in enumerate(buyers, 1):
        status = rng.choices(ORDER_STATUSES, (60, 15, 10, 10, 5))[0]
        orders.append((order_id, customer_id, _day(rng, 30), status, rng.choice((0.0, 4.99, 9.99, 14.99))))
        chosen = set(rng.choices(range(n_products), product_weights, k=rng.choice((1, 1, 2, 2, 3, 4, 5))))
        for index in sorted(chosen):
            _, _, _, price, _, _ = products[index]
            unit_price = price if rng.random() < 0.8 else round(price * rng.choice((0.8, 0.9)), 2)
            items.append((order_id, index + 1, rng.choice((1, 1, 1, 2, 2, 3, 4)), unit_price))
    connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", orders)
    connection.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?)", items)


# ------------------------------------------------------------------ school
_SCHOOL_DDL = """
CREATE TABLE departments (
    department_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    building TEXT NOT NULL,
    budget INTEGER NOT NULL
);
CREATE TABLE teachers (
    teacher_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments (department_id),
    hire_year INTEGER NOT NULL,
    salary INTEGER NOT NULL
);
CREATE TABLE students (
    student_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_year INTEGER NOT NULL,
    enrollment_year INTEGER NOT NULL,
    major_id INTEGER REFERENCES departments (department_id),
    city TEXT NOT NULL
);
CREATE TABLE courses (
    course_id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments (department_id),
    teacher_id INTEGER REFERENCES teachers (teacher_id),
    credits INTEGER NOT NULL,
    level INTEGER NOT NULL
);
CREATE TABLE enrollments (
    student_id INTEGER NOT NULL REFERENCES students (student_id),
    course_id INTEGER NOT NULL REFERENCES courses (course_id),
    semester TEXT NOT NULL,
    grade INTEGER,
    PRIMARY KEY (student_id, course_id, semester)
);
CREATE INDEX enrollments_course ON enrollments (course_id);
CREATE INDEX courses_department ON courses (department_id);
CREATE INDEX students_major ON students (major_id);
"""

SEMESTERS = ("2023-Spring", "2023-Fall", "2024-Spring", "2024-Fall")


def _generate_school(rng: random.Random, connection: sqlite3.Connection) -> None:
    departments = rng.sample(vocab.DEPARTMENTS, rng.randint(7, 9))
    connection.executemany("INSERT INTO departments VALUES (?, ?, ?, ?)", [
        (i, name, building, rng.randrange(200_000, 2_000_000, 5_000))
        for i, (name, building) in enumerate(departments, 1)])
    n_departments = len(departments)

    teachers = [(i, first, last, rng.randint(1, n_departments), rng.randint(1990, 2024),
                 rng.randrange(48_000, 140_000, 500))
                for i, (first, last) in enumerate(_people(rng, rng.randint(45, 70)), 1)]
    connection.executemany("INSERT INTO teachers VALUES (?, ?, ?, ?, ?, ?)", teachers)

    cities = [city for city, _ in rng.sample(vocab.CITIES, 10)]
    major_weights = _skewed_weights(rng, n_departments, 2.0)
    students = []
    for i, (first, last) in enumerate(_people(rng, rng.randint(500, 800)), 1):
        enrolled = rng.randint(2019, 2024)
        major = None if rng.random() < 0.06 else rng.choices(range(1, n_departments + 1), major_weights)[0]
        students.append((i, first, last, enrolled - rng.randint(17, 24), enrolled, major, rng.choice(cities)))
    connection.executemany("INSERT INTO students VALUES (?, ?, ?, ?, ?, ?, ?)", students)

    courses, codes = [], set()
    for department_id, (name, _) in enumerate(departments, 1):
        staff = [t[0] for t in teachers if t[3] == department_id] or [None]
        for topic in rng.sample(vocab.COURSE_TOPICS, rng.randint(5, 9)):
            level = rng.choice((100, 200, 300, 400))
            code = f"{name[:4].upper()}{level + rng.randint(1, 99)}"
            if code in codes:
                continue
            codes.add(code)
            teacher = None if rng.random() < 0.05 else rng.choice(staff)
            courses.append((len(courses) + 1, code, f"{name} {topic}", department_id, teacher,
                            rng.choice((2, 3, 3, 4, 5)), level))
    connection.executemany("INSERT INTO courses VALUES (?, ?, ?, ?, ?, ?, ?)", courses)

    course_weights = _skewed_weights(rng, len(courses), 1.5)
    enrollments = set()
    rows = []
    for student_id, *_ in students:
        for course_index in rng.choices(range(len(courses)), course_weights, k=rng.randint(2, 9)):
            semester = rng.choice(SEMESTERS)
            key = (student_id, course_index + 1, semester)
            if key in enrollments:
                continue
            enrollments.add(key)
            in_progress = semester == "2024-Fall" and rng.random() < 0.7
            grade = None if in_progress else min(100, max(0, round(rng.gauss(72, 14))))
            rows.append((*key, grade))
    connection.executemany("INSERT INTO enrollments VALUES (?, ?, ?, ?)", rows)


# ------------------------------------------------------------------ flights
_FLIGHTS_DDL = """
CREATE TABLE airports (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE airlines (
    airline_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    country TEXT NOT NULL,
    founded_year INTEGER NOT NULL
);
CREATE TABLE flights (
    flight_id INTEGER PRIMARY KEY,
    flight_number TEXT NOT NULL,
    airline_id INTEGER NOT NULL REFERENCES airlines (airline_id),
    origin TEXT NOT NULL REFERENCES airports (code),
    destination TEXT NOT NULL REFERENCES airports (code),
    departure_date TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    distance_km INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE passengers (
    passenger_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    nationality TEXT NOT NULL,
    birth_year INTEGER NOT NULL,
    frequent_flyer INTEGER NOT NULL
);
CREATE TABLE bookings (
    booking_id INTEGER PRIMARY KEY,
    flight_id INTEGER NOT NULL REFERENCES flights (flight_id),
    passenger_id INTEGER NOT NULL REFERENCES passengers (passenger_id),
    seat_class TEXT NOT NULL,
    price REAL NOT NULL,
    booked_on TEXT NOT NULL
);
CREATE INDEX flights_origin ON flights (origin);
CREATE INDEX bookings_flight ON bookings (flight_id);
CREATE INDEX bookings_passenger ON bookings (passenger_id);
"""

FLIGHT_STATUSES = ("landed", "scheduled", "delayed", "cancelled")
SEAT_CLASSES = ("economy", "premium", "business", "first")


def _generate_flights(rng: random.Random, connection: sqlite3.Connection) -> None:
    places = rng.sample(vocab.CITIES, rng.randint(26, 36))
    airports = [(vocab.AIRPORT_CODES[city], f"{city} International", city, country) for city, country in places]
    connection.executemany("INSERT INTO airports VALUES (?, ?, ?, ?)", airports)
    codes = [airport[0] for airport in airports]
    # A rough position per airport, so that distance and duration agree along a route.
    position = {code: (rng.uniform(0, 9000), rng.uniform(0, 9000)) for code in codes}

    airlines = rng.sample(vocab.AIRLINES, rng.randint(9, 12))
    connection.executemany("INSERT INTO airlines VALUES (?, ?, ?, ?)", [
        (i, name, country, rng.randint(1925, 2015)) for i, (name, country) in enumerate(airlines, 1)])

    hub_weights = _skewed_weights(rng, len(codes), 1.4)
    airline_weights = _skewed_weights(rng, len(airlines), 2.0)
    flights = []
    for flight_id in range(1, rng.randint(1200, 1800) + 1):
        origin, destination = rng.choices(codes, hub_weights, k=2)
        while destination == origin:
            destination = rng.choice(codes)
        (x1, y1), (x2, y2) = position[origin], position[destination]
        distance = max(150, round(((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5))
        airline_id = rng.choices(range(1, len(airlines) + 1), airline_weights)[0]
        prefix = "".join(word[0] for word in airlines[airline_id - 1][0].split()[:2]).upper()
        flights.append((flight_id, f"{prefix}{rng.randint(100, 9999)}", airline_id, origin, destination,
                        _day(rng), round(distance / 13.5 + 35 + rng.randint(-10, 25)), distance,
                        rng.choices(FLIGHT_STATUSES, (70, 15, 10, 5))[0]))
    connection.executemany("INSERT INTO flights VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", flights)

    nationalities = sorted({country for _, country in vocab.CITIES})
    passengers = [(i, first, last, rng.choice(nationalities), rng.randint(1940, 2010), int(rng.random() < 0.3))
                  for i, (first, last) in enumerate(_people(rng, rng.randint(600, 1000)), 1)]
    connection.executemany("INSERT INTO passengers VALUES (?, ?, ?, ?, ?, ?)", passengers)

    traveller_weights = _skewed_weights(rng, len(passengers), 1.8)
    flight_weights = _skewed_weights(rng, len(flights), 3.0)
    n_bookings = rng.randint(3000, 4500)
    chosen_flights = rng.choices(range(len(flights)), flight_weights, k=n_bookings)
    travellers = rng.choices(range(1, len(passengers) + 1), traveller_weights, k=n_bookings)
    class_factor = {"economy": 1.0, "premium": 1.6, "business": 3.2, "first": 5.5}
    bookings = []
    for booking_id, (index, passenger_id) in enumerate(zip(chosen_flights, travellers), 1):
        flight = flights[index]
        seat_class = rng.choices(SEAT_CLASSES, (75, 12, 10, 3))[0]
        price = round((40 + flight[7] * 0.09) * class_factor[seat_class] * rng.uniform(0.7, 1.4), 2)
        departure = datetime.date.fromisoformat(flight[5]).toordinal() - _EPOCH
        booked = _day(rng, max(0, departure - 120), departure)
        bookings.append((booking_id, flight[0], passenger_id, seat_class, price, booked))
    connection.executemany("INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?)", bookings)


_DDL = {"shop": _SHOP_DDL, "school": _SCHOOL_DDL, "flights": _FLIGHTS_DDL}
_GENERATORS: dict[str, Callable[[random.Random, sqlite3.Connection], None]] = {
    "shop": _generate_shop, "school": _generate_school, "flights": _generate_flights}
