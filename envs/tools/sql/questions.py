"""Questions about a generated database, each with its gold SQL and its answer.

:func:`draw_question` picks a template of the database's schema at the requested difficulty,
fills it with values read from the database itself (a city that has customers, a price between
two real prices...), runs the gold query and keeps the question only if its answer is
*usable*; otherwise it draws again. Levels:

* ``easy`` — one table: filters (``WHERE`` with comparisons, ``BETWEEN``, ``IS NULL``, dates),
  ``COUNT``;
* ``medium`` — joins and aggregates with ``GROUP BY`` / ``HAVING``;
* ``hard`` — nested subqueries (``IN``/``NOT IN``, scalar subqueries, derived tables), three or
  more tables, ``ORDER BY ... LIMIT``.

A usable answer has between 1 and :data:`MAX_ANSWER_ROWS` rows, no duplicate rows (so ``SELECT
DISTINCT`` and plain ``SELECT`` agree), no row of only ``NULL``s, is not a lone ``0`` or
``NULL``, and, for a "top k" question, has no tie among the first k + 1 values of the sort key
(no tie at the cut, so exactly one set of k rows is right, and none inside the k, so exactly one
order of them is: a ranked answer's order counts). Numbers the question asks to round are
rounded by the gold query with ``ROUND(x, 2)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from agentgym.envs.tools.sql.executor import QueryResult, SQLExecutor
from agentgym.envs.tools.sql.matching import has_top_level_order_by

DIFFICULTIES = ("easy", "medium", "hard")
MAX_ANSWER_ROWS = 25
#: The row cap and time limit the drawing's queries run under, whatever the executor's own
#: (which :func:`draw_question` restores when it returns): an agent's ``max_rows`` or
#: ``time_limit`` must not change which question a seed draws (a cap of 10 rows cut the list of
#: distances a template picks a range from; a cap of 1 row left a template nothing to choose).
DRAW_MAX_ROWS = 1_000
DRAW_TIME_LIMIT = 30.0
_ATTEMPTS = 200
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


@dataclass(frozen=True)
class Question:
    """A question, its gold query and the gold query's result.

    ``ordered`` is true when the gold query has a top-level ``ORDER BY``: the answer's row
    order then counts (see :mod:`~agentgym.envs.tools.sql.matching`)."""

    schema: str
    difficulty: str
    template: str
    text: str
    gold_sql: str
    columns: tuple[str, ...]
    answer: tuple[tuple[Any, ...], ...]
    ordered: bool


@dataclass(frozen=True)
class Draft:
    """A filled-in template. ``top`` is ``(sql, k)`` for "top k" questions: ``sql`` lists the
    sort key of the ranking in order (at least k + 1 rows when there are that many); the draft
    is rejected if any two of the first k + 1 keys tie."""

    text: str
    sql: str
    top: tuple[str, int] | None = None


class Probe:
    """What templates read the database with while drawing their values."""

    def __init__(self, executor: SQLExecutor) -> None:
        self._executor = executor

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        result = self._executor.execute(sql)
        if not result.ok:
            raise RuntimeError(f"a question template's probe failed: {result.error}\n{sql}")
        return result.rows

    def column(self, sql: str) -> list[Any]:
        return [row[0] for row in self.rows(sql)]


Template = Callable[[random.Random, Probe], Draft]
TEMPLATES: dict[tuple[str, str], list[tuple[str, Template]]] = {}


def template(schema: str, difficulty: str) -> Callable[[Template], Template]:
    """Register a question template for ``schema`` at ``difficulty``."""
    def add(function: Template) -> Template:
        TEMPLATES.setdefault((schema, difficulty), []).append((function.__name__, function))
        return function
    return add


def draw_question(schema: str, difficulty: str, rng: random.Random, executor: SQLExecutor) -> Question:
    """A usable question (see the module docstring) about the database ``executor`` reads,
    drawn with ``rng`` (same database and generator state, same question: the queries run under
    :data:`DRAW_MAX_ROWS` and :data:`DRAW_TIME_LIMIT`, not the executor's own limits).

    Raises:
        KeyError: no templates for ``(schema, difficulty)``.
        RuntimeError: no usable question after many draws (a broken template).
    """
    templates = TEMPLATES[(schema, difficulty)]
    limits = executor.max_rows, executor.time_limit
    executor.max_rows, executor.time_limit = DRAW_MAX_ROWS, DRAW_TIME_LIMIT
    try:
        return _draw(schema, difficulty, templates, rng, executor)
    finally:
        executor.max_rows, executor.time_limit = limits


def _draw(schema: str, difficulty: str, templates: list[tuple[str, Template]], rng: random.Random,
          executor: SQLExecutor) -> Question:
    probe = Probe(executor)
    for _ in range(_ATTEMPTS):
        name, fill = rng.choice(templates)
        draft = fill(rng, probe)
        result = executor.execute(draft.sql)
        if not result.ok:
            raise RuntimeError(f"gold query of template {name!r} failed: {result.error}\n{draft.sql}")
        if usable(result) and (draft.top is None or _no_tie(probe, *draft.top)):
            return Question(schema, difficulty, name, draft.text, draft.sql, result.columns,
                            tuple(result.rows), has_top_level_order_by(draft.sql))
    raise RuntimeError(f"no usable {difficulty} question for schema {schema!r} in {_ATTEMPTS} draws")


def usable(result: QueryResult) -> bool:
    """Whether a gold result makes a good answer (see the module docstring)."""
    rows = result.rows
    if result.truncated or not 1 <= len(rows) <= MAX_ANSWER_ROWS:
        return False
    if len(set(rows)) != len(rows) or any(all(value is None for value in row) for row in rows):
        return False
    return not (len(rows) == 1 and len(rows[0]) == 1 and rows[0][0] in (0, None))


def _no_tie(probe: Probe, sql: str, k: int) -> bool:
    """Whether the first k + 1 ``keys`` (k when there are no more) are all distinct: one set of
    k rows is right, and one order of them."""
    keys = probe.column(sql)[: k + 1]
    return len(keys) >= k and len(set(keys)) == len(keys)


def q(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _month(rng: random.Random) -> tuple[str, str, str]:
    """(``"March 2024"``, first day, first day of the next month) of a month of 2023-2024."""
    year, month = rng.choice((2023, 2024)), rng.randint(1, 12)
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{_MONTHS[month - 1]} {year}", f"{year}-{month:02d}-01", f"{following[0]}-{following[1]:02d}-01"


def _between(rng: random.Random, values: list[Any], span: tuple[int, int]) -> tuple[Any, Any]:
    """Two of the sorted ``values``, about ``span`` positions apart (so the range is never empty)."""
    i = rng.randrange(len(values))
    j = min(len(values) - 1, i + rng.randint(*span))
    return values[i], values[j]


# ====================================================================== shop
@template("shop", "easy")
def customers_in_city(rng: random.Random, probe: Probe) -> Draft:
    city = rng.choice(probe.column("SELECT DISTINCT city FROM customers ORDER BY city"))
    return Draft(f"How many customers live in {city}?",
                 f"SELECT COUNT(*) FROM customers WHERE city = {q(city)}")


@template("shop", "easy")
def products_in_price_range(rng: random.Random, probe: Probe) -> Draft:
    low, high = _between(rng, probe.column("SELECT price FROM products ORDER BY price"), (2, 12))
    return Draft(f"List the name and price of every product priced between {low} and {high} (both included).",
                 f"SELECT name, price FROM products WHERE price BETWEEN {low} AND {high}")


@template("shop", "easy")
def low_stock_well_rated(rng: random.Random, probe: Probe) -> Draft:
    stock = rng.choice((10, 20, 30, 50))
    rating = rng.choice((3.5, 4.0, 4.5))
    return Draft(f"Which products have fewer than {stock} units in stock and a rating of at least {rating}? "
                 "Give their names.",
                 f"SELECT name FROM products WHERE stock < {stock} AND rating >= {rating}")


@template("shop", "easy")
def orders_by_status_in_month(rng: random.Random, probe: Probe) -> Draft:
    status = rng.choice(probe.column("SELECT DISTINCT status FROM orders ORDER BY status"))
    label, first, following = _month(rng)
    return Draft(f"How many orders with status '{status}' were placed in {label}?",
                 f"SELECT COUNT(*) FROM orders WHERE status = {q(status)} "
                 f"AND order_date >= {q(first)} AND order_date < {q(following)}")


@template("shop", "easy")
def member_emails(rng: random.Random, probe: Probe) -> Draft:
    city = rng.choice(probe.column("SELECT DISTINCT city FROM customers ORDER BY city"))
    year = rng.choice((2023, 2024))
    return Draft(f"List the email addresses of the customers from {city} who are members (is_member = 1) "
                 f"and signed up in {year}.",
                 f"SELECT email FROM customers WHERE city = {q(city)} AND is_member = 1 "
                 f"AND signup_date LIKE '{year}-%'")


@template("shop", "easy")
def unrated_products(rng: random.Random, probe: Probe) -> Draft:
    price = rng.choice((10, 20, 30, 50))
    return Draft(f"How many products that have no rating cost more than {price}?",
                 f"SELECT COUNT(*) FROM products WHERE rating IS NULL AND price > {price}")


@template("shop", "medium")
def products_per_category(rng: random.Random, probe: Probe) -> Draft:
    stock = rng.choice((0, 50, 100, 200))
    return Draft(f"For each category, how many of its products have more than {stock} units in stock? "
                 "Give the category name and that number (leave out categories with none).",
                 "SELECT c.name, COUNT(*) FROM categories c JOIN products p ON p.category_id = c.category_id "
                 f"WHERE p.stock > {stock} GROUP BY c.category_id, c.name")


@template("shop", "medium")
def frequent_customers_in_city(rng: random.Random, probe: Probe) -> Draft:
    city = rng.choice(probe.column("SELECT DISTINCT city FROM customers ORDER BY city"))
    k = rng.choice((3, 5, 8, 10))
    return Draft(f"Which customers from {city} have placed more than {k} orders? "
                 "Give their first name, last name and number of orders.",
                 "SELECT c.first_name, c.last_name, COUNT(*) FROM customers c "
                 f"JOIN orders o ON o.customer_id = c.customer_id WHERE c.city = {q(city)} "
                 f"GROUP BY c.customer_id, c.first_name, c.last_name HAVING COUNT(*) > {k}")


@template("shop", "medium")
def category_revenue(rng: random.Random, probe: Probe) -> Draft:
    category = rng.choice(probe.column("SELECT name FROM categories ORDER BY name"))
    return Draft(f"What is the total revenue of the '{category}' category, i.e. the sum of quantity times "
                 "unit_price over all order items of its products, rounded to 2 decimals?",
                 "SELECT ROUND(SUM(oi.quantity * oi.unit_price), 2) FROM order_items oi "
                 "JOIN products p ON p.product_id = oi.product_id "
                 f"JOIN categories c ON c.category_id = p.category_id WHERE c.name = {q(category)}")


@template("shop", "medium")
def order_statuses_in_year(rng: random.Random, probe: Probe) -> Draft:
    year = rng.choice((2023, 2024))
    country = rng.choice(probe.column("SELECT DISTINCT country FROM customers ORDER BY country"))
    return Draft(f"For each order status, how many orders did customers from {country} place in {year}? "
                 "Give the status and the number of orders.",
                 "SELECT o.status, COUNT(*) FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
                 f"WHERE c.country = {q(country)} AND o.order_date LIKE '{year}-%' GROUP BY o.status")


@template("shop", "medium")
def expensive_categories(rng: random.Random, probe: Probe) -> Draft:
    averages = probe.column("SELECT AVG(price) FROM products GROUP BY category_id ORDER BY 1")
    threshold = round(rng.choice(averages[:-1]) + 0.005, 2)
    return Draft(f"Which categories have an average product price above {threshold}? "
                 "Give the category name and the average price rounded to 2 decimals.",
                 "SELECT c.name, ROUND(AVG(p.price), 2) FROM categories c "
                 "JOIN products p ON p.category_id = c.category_id "
                 f"GROUP BY c.category_id, c.name HAVING AVG(p.price) > {threshold}")


@template("shop", "hard")
def top_spenders(rng: random.Random, probe: Probe) -> Draft:
    k = rng.choice((3, 5))
    spend = ("FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
             "JOIN order_items oi ON oi.order_id = o.order_id GROUP BY c.customer_id")
    return Draft(f"Which {k} customers spent the most in total (the sum of quantity times unit_price over "
                 "all items of all their orders)? Give their first name, last name and total rounded to "
                 "2 decimals, highest total first.",
                 "SELECT c.first_name, c.last_name, ROUND(SUM(oi.quantity * oi.unit_price), 2) AS total "
                 f"{spend}, c.first_name, c.last_name ORDER BY total DESC LIMIT {k}",
                 (f"SELECT ROUND(SUM(oi.quantity * oi.unit_price), 2) AS total {spend} "
                  f"ORDER BY total DESC LIMIT {k + 1}", k))


@template("shop", "hard")
def best_seller_in_category(rng: random.Random, probe: Probe) -> Draft:
    category = rng.choice(probe.column("SELECT name FROM categories ORDER BY name"))
    sold = ("FROM products p JOIN categories c ON c.category_id = p.category_id "
            "JOIN order_items oi ON oi.product_id = p.product_id "
            f"WHERE c.name = {q(category)} GROUP BY p.product_id")
    return Draft(f"Which product of the '{category}' category sold the most units (total quantity over all "
                 "orders)? Give its name.",
                 f"SELECT p.name {sold} ORDER BY SUM(oi.quantity) DESC LIMIT 1",
                 (f"SELECT SUM(oi.quantity) AS units {sold} ORDER BY units DESC LIMIT 2", 1))


@template("shop", "hard")
def above_category_average(rng: random.Random, probe: Probe) -> Draft:
    category = rng.choice(probe.column("SELECT name FROM categories ORDER BY name"))
    return Draft(f"List the names of the products of the '{category}' category that cost more than the "
                 "average price of the products of that category and have been ordered at least once.",
                 "SELECT p.name FROM products p JOIN categories c ON c.category_id = p.category_id "
                 f"WHERE c.name = {q(category)} AND p.price > (SELECT AVG(p2.price) FROM products p2 "
                 "WHERE p2.category_id = p.category_id) "
                 "AND p.product_id IN (SELECT product_id FROM order_items)")


@template("shop", "hard")
def not_bought_in_country(rng: random.Random, probe: Probe) -> Draft:
    category = rng.choice(probe.column("SELECT name FROM categories ORDER BY name"))
    country = rng.choice(probe.column("SELECT DISTINCT country FROM customers ORDER BY country"))
    return Draft(f"List the names of the products of the '{category}' category that no customer from "
                 f"{country} has ever ordered.",
                 "SELECT p.name FROM products p JOIN categories c ON c.category_id = p.category_id "
                 f"WHERE c.name = {q(category)} AND p.product_id NOT IN (SELECT oi.product_id "
                 "FROM order_items oi JOIN orders o ON o.order_id = oi.order_id "
                 f"JOIN customers cu ON cu.customer_id = o.customer_id WHERE cu.country = {q(country)})")


@template("shop", "hard")
def busier_than_average(rng: random.Random, probe: Probe) -> Draft:
    status = rng.choice(probe.column("SELECT DISTINCT status FROM orders ORDER BY status"))
    per_customer = f"SELECT customer_id, COUNT(*) AS n FROM orders WHERE status = {q(status)} GROUP BY customer_id"
    return Draft(f"Counting only orders with status '{status}', how many customers placed more such orders "
                 "than the average customer who placed at least one?",
                 f"SELECT COUNT(*) FROM ({per_customer}) WHERE n > (SELECT AVG(n) FROM ({per_customer}))")


@template("shop", "hard")
def top_cities_by_revenue(rng: random.Random, probe: Probe) -> Draft:
    k = rng.choice((2, 3, 4))
    year = rng.choice((2023, 2024))
    revenue = ("FROM customers c JOIN orders o ON o.customer_id = c.customer_id "
               "JOIN order_items oi ON oi.order_id = o.order_id "
               f"WHERE o.order_date LIKE '{year}-%' GROUP BY c.city")
    return Draft(f"Which {k} customer cities brought the most revenue in {year} (the sum of quantity times "
                 "unit_price of the items of orders placed that year)? Give the city and the revenue "
                 "rounded to 2 decimals, highest first.",
                 f"SELECT c.city, ROUND(SUM(oi.quantity * oi.unit_price), 2) AS revenue {revenue} "
                 f"ORDER BY revenue DESC LIMIT {k}",
                 (f"SELECT ROUND(SUM(oi.quantity * oi.unit_price), 2) AS revenue {revenue} "
                  f"ORDER BY revenue DESC LIMIT {k + 1}", k))


# ====================================================================== school
@template("school", "easy")
def students_from_city_by_year(rng: random.Random, probe: Probe) -> Draft:
    city = rng.choice(probe.column("SELECT DISTINCT city FROM students ORDER BY city"))
    year = rng.randint(2019, 2024)
    return Draft(f"How many students from {city} enrolled in {year}?",
                 f"SELECT COUNT(*) FROM students WHERE city = {q(city)} AND enrollment_year = {year}")


@template("school", "easy")
def well_paid_recent_teachers(rng: random.Random, probe: Probe) -> Draft:
    year = rng.randint(1998, 2018)
    salary = rng.randrange(60_000, 120_000, 5_000)
    return Draft(f"List the first and last names of the teachers hired after {year} who earn more than {salary}.",
                 f"SELECT first_name, last_name FROM teachers WHERE hire_year > {year} AND salary > {salary}")


@template("school", "easy")
def courses_at_level(rng: random.Random, probe: Probe) -> Draft:
    level = rng.choice((100, 200, 300, 400))
    credits = rng.choice((3, 4, 5))
    return Draft(f"List the code and title of every course at level {level} worth at least {credits} credits.",
                 f"SELECT code, title FROM courses WHERE level = {level} AND credits >= {credits}")


@template("school", "easy")
def undeclared_majors(rng: random.Random, probe: Probe) -> Draft:
    year = rng.randint(2019, 2024)
    return Draft(f"How many students who enrolled in {year} or later have not declared a major (their "
                 "major_id is NULL)?",
                 f"SELECT COUNT(*) FROM students WHERE major_id IS NULL AND enrollment_year >= {year}")


@template("school", "easy")
def high_grades_in_semester(rng: random.Random, probe: Probe) -> Draft:
    semester = rng.choice(("2023-Spring", "2023-Fall", "2024-Spring"))
    grade = rng.choice((85, 90, 95))
    return Draft(f"How many enrollments of the semester '{semester}' have a grade of at least {grade}?",
                 f"SELECT COUNT(*) FROM enrollments WHERE semester = {q(semester)} AND grade >= {grade}")


@template("school", "medium")
def majors_per_department(rng: random.Random, probe: Probe) -> Draft:
    year = rng.randint(2019, 2024)
    return Draft(f"For each department, how many students who enrolled in {year} major in it? Give the "
                 "department name and that number (leave out departments with none).",
                 "SELECT d.name, COUNT(*) FROM departments d JOIN students s ON s.major_id = d.department_id "
                 f"WHERE s.enrollment_year = {year} GROUP BY d.department_id, d.name")


@template("school", "medium")
def course_average_grade(rng: random.Random, probe: Probe) -> Draft:
    code = rng.choice(probe.column("SELECT code FROM courses ORDER BY code"))
    return Draft(f"What is the average grade in the course with code '{code}' over all semesters (ignoring "
                 "missing grades), rounded to 2 decimals?",
                 "SELECT ROUND(AVG(e.grade), 2) FROM enrollments e JOIN courses c ON c.course_id = e.course_id "
                 f"WHERE c.code = {q(code)}")


@template("school", "medium")
def teachers_with_many_courses(rng: random.Random, probe: Probe) -> Draft:
    k = rng.choice((1, 2))
    return Draft(f"Which teachers teach more than {k} courses? Give their first name, last name and number "
                 "of courses.",
                 "SELECT t.first_name, t.last_name, COUNT(*) FROM teachers t "
                 "JOIN courses c ON c.teacher_id = t.teacher_id "
                 f"GROUP BY t.teacher_id, t.first_name, t.last_name HAVING COUNT(*) > {k}")


@template("school", "medium")
def salaries_in_building(rng: random.Random, probe: Probe) -> Draft:
    building = rng.choice(probe.column("SELECT DISTINCT building FROM departments ORDER BY building"))
    return Draft(f"What is the average teacher salary of each department housed in {building}? Give the "
                 "department name and the average salary rounded to 2 decimals.",
                 "SELECT d.name, ROUND(AVG(t.salary), 2) FROM departments d "
                 "JOIN teachers t ON t.department_id = d.department_id "
                 f"WHERE d.building = {q(building)} GROUP BY d.department_id, d.name")


@template("school", "medium")
def crowded_courses(rng: random.Random, probe: Probe) -> Draft:
    semester = rng.choice(("2023-Spring", "2023-Fall", "2024-Spring", "2024-Fall"))
    sizes = probe.column(f"SELECT COUNT(*) FROM enrollments WHERE semester = {q(semester)} "
                         "GROUP BY course_id ORDER BY 1 DESC")
    n = sizes[min(len(sizes) - 1, rng.randint(2, 12))]
    return Draft(f"Which courses had more than {n} students enrolled in the semester '{semester}'? Give the "
                 "course code and the number of students.",
                 "SELECT c.code, COUNT(*) FROM courses c JOIN enrollments e ON e.course_id = c.course_id "
                 f"WHERE e.semester = {q(semester)} GROUP BY c.course_id, c.code HAVING COUNT(*) > {n}")


@template("school", "hard")
def top_students_by_average(rng: random.Random, probe: Probe) -> Draft:
    k = rng.choice((3, 5))
    minimum = rng.choice((3, 4, 5))
    graded = ("FROM students s JOIN enrollments e ON e.student_id = s.student_id WHERE e.grade IS NOT NULL "
              f"GROUP BY s.student_id HAVING COUNT(*) >= {minimum}")
    return Draft(f"Among the students with at least {minimum} graded enrollments, which {k} have the highest "
                 "average grade? Give their first name, last name and average grade rounded to 2 decimals, "
                 "highest first.",
                 f"SELECT s.first_name, s.last_name, ROUND(AVG(e.grade), 2) AS average {graded} "
                 f"ORDER BY average DESC LIMIT {k}",
                 (f"SELECT ROUND(AVG(e.grade), 2) AS average {graded} ORDER BY average DESC LIMIT {k + 1}", k))


@template("school", "hard")
def above_average_salary_in_department(rng: random.Random, probe: Probe) -> Draft:
    department = rng.choice(probe.column("SELECT name FROM departments ORDER BY name"))
    return Draft(f"List the first and last names of the teachers of the {department} department who earn "
                 "more than the average salary of all teachers of the school.",
                 "SELECT t.first_name, t.last_name FROM teachers t "
                 "JOIN departments d ON d.department_id = t.department_id "
                 f"WHERE d.name = {q(department)} AND t.salary > (SELECT AVG(salary) FROM teachers)")


@template("school", "hard")
def majors_outside_department(rng: random.Random, probe: Probe) -> Draft:
    department = rng.choice(probe.column("SELECT name FROM departments ORDER BY name"))
    return Draft(f"How many students majoring in {department} have never enrolled in a course of the "
                 f"{department} department?",
                 "SELECT COUNT(*) FROM students s JOIN departments d ON d.department_id = s.major_id "
                 f"WHERE d.name = {q(department)} AND s.student_id NOT IN (SELECT e.student_id "
                 "FROM enrollments e JOIN courses c ON c.course_id = e.course_id "
                 f"JOIN departments d2 ON d2.department_id = c.department_id WHERE d2.name = {q(department)})")


@template("school", "hard")
def teacher_of_best_course(rng: random.Random, probe: Probe) -> Draft:
    department = rng.choice(probe.column("SELECT name FROM departments ORDER BY name"))
    minimum = rng.choice((5, 10))
    ranked = ("FROM courses c JOIN departments d ON d.department_id = c.department_id "
              "JOIN enrollments e ON e.course_id = c.course_id "
              f"WHERE d.name = {q(department)} AND e.grade IS NOT NULL "
              f"GROUP BY c.course_id HAVING COUNT(*) >= {minimum}")
    return Draft(f"Of the courses of the {department} department with at least {minimum} grades, take the "
                 "one with the highest average grade. Who teaches it? Give the teacher's first and last name.",
                 "SELECT t.first_name, t.last_name FROM teachers t WHERE t.teacher_id = "
                 f"(SELECT c.teacher_id {ranked} ORDER BY AVG(e.grade) DESC LIMIT 1)",
                 (f"SELECT AVG(e.grade) AS average {ranked} ORDER BY average DESC LIMIT 2", 1))


@template("school", "hard")
def busiest_department(rng: random.Random, probe: Probe) -> Draft:
    semester = rng.choice(("2023-Spring", "2023-Fall", "2024-Spring", "2024-Fall"))
    busy = ("FROM departments d JOIN courses c ON c.department_id = d.department_id "
            f"JOIN enrollments e ON e.course_id = c.course_id WHERE e.semester = {q(semester)} "
            "GROUP BY d.department_id")
    return Draft(f"Which department's courses had the most enrollments in the semester '{semester}'? Give "
                 "the department name and the number of enrollments.",
                 f"SELECT d.name, COUNT(*) AS n {busy} ORDER BY n DESC LIMIT 1",
                 (f"SELECT COUNT(*) AS n {busy} ORDER BY n DESC LIMIT 2", 1))


# ====================================================================== flights
@template("flights", "easy")
def departures_by_status(rng: random.Random, probe: Probe) -> Draft:
    code = rng.choice(probe.column("SELECT DISTINCT origin FROM flights ORDER BY origin"))
    status = rng.choice(("landed", "delayed", "cancelled", "scheduled"))
    return Draft(f"How many flights departing from the airport {code} have the status '{status}'?",
                 f"SELECT COUNT(*) FROM flights WHERE origin = {q(code)} AND status = {q(status)}")


@template("flights", "easy")
def flights_on_route(rng: random.Random, probe: Probe) -> Draft:
    origin, destination = rng.choice(probe.rows(
        "SELECT DISTINCT origin, destination FROM flights ORDER BY origin, destination"))
    return Draft(f"List the flight number and departure date of every flight from {origin} to {destination}.",
                 "SELECT flight_number, departure_date FROM flights "
                 f"WHERE origin = {q(origin)} AND destination = {q(destination)}")


@template("flights", "easy")
def frequent_flyers_by_nationality(rng: random.Random, probe: Probe) -> Draft:
    nationality = rng.choice(probe.column("SELECT DISTINCT nationality FROM passengers ORDER BY nationality"))
    year = rng.randint(1950, 1995)
    return Draft(f"How many frequent flyers (frequent_flyer = 1) of nationality '{nationality}' were born "
                 f"before {year}?",
                 "SELECT COUNT(*) FROM passengers WHERE frequent_flyer = 1 "
                 f"AND nationality = {q(nationality)} AND birth_year < {year}")


@template("flights", "easy")
def bookings_in_month(rng: random.Random, probe: Probe) -> Draft:
    seat_class = rng.choice(("economy", "premium", "business", "first"))
    label, first, following = _month(rng)
    return Draft(f"How many {seat_class} class bookings were made (booked_on) in {label}?",
                 f"SELECT COUNT(*) FROM bookings WHERE seat_class = {q(seat_class)} "
                 f"AND booked_on >= {q(first)} AND booked_on < {q(following)}")


@template("flights", "easy")
def long_flights_in_range(rng: random.Random, probe: Probe) -> Draft:
    low, high = _between(rng, probe.column("SELECT distance_km FROM flights ORDER BY distance_km"), (1, 10))
    return Draft(f"List the flight number, origin and destination of the flights whose distance is between "
                 f"{low} and {high} km (both included).",
                 "SELECT flight_number, origin, destination FROM flights "
                 f"WHERE distance_km BETWEEN {low} AND {high}")


@template("flights", "medium")
def cancellations_per_airline(rng: random.Random, probe: Probe) -> Draft:
    status = rng.choice(("cancelled", "delayed"))
    year = rng.choice((2023, 2024))
    return Draft(f"For each airline, how many of its flights departing in {year} have the status '{status}'? "
                 "Give the airline name and that number (leave out airlines with none).",
                 "SELECT a.name, COUNT(*) FROM airlines a JOIN flights f ON f.airline_id = a.airline_id "
                 f"WHERE f.status = {q(status)} AND f.departure_date LIKE '{year}-%' "
                 "GROUP BY a.airline_id, a.name")


@template("flights", "medium")
def average_price_on_route(rng: random.Random, probe: Probe) -> Draft:
    origin, destination = rng.choice(probe.rows(
        "SELECT DISTINCT f.origin, f.destination FROM flights f JOIN bookings b ON b.flight_id = f.flight_id "
        "ORDER BY 1, 2"))
    return Draft(f"What is the average price paid for bookings on flights from {origin} to {destination}, "
                 "rounded to 2 decimals?",
                 "SELECT ROUND(AVG(b.price), 2) FROM bookings b JOIN flights f ON f.flight_id = b.flight_id "
                 f"WHERE f.origin = {q(origin)} AND f.destination = {q(destination)}")


@template("flights", "medium")
def busy_airports(rng: random.Random, probe: Probe) -> Draft:
    year = rng.choice((2023, 2024))
    counts = probe.column(f"SELECT COUNT(*) FROM flights WHERE departure_date LIKE '{year}-%' "
                          "GROUP BY origin ORDER BY 1 DESC")
    n = counts[min(len(counts) - 1, rng.randint(1, 8))]
    return Draft(f"Which airports had more than {n} departing flights in {year}? Give the airport code, its "
                 "city and the number of departures.",
                 "SELECT ap.code, ap.city, COUNT(*) FROM airports ap JOIN flights f ON f.origin = ap.code "
                 f"WHERE f.departure_date LIKE '{year}-%' GROUP BY ap.code, ap.city HAVING COUNT(*) > {n}")


@template("flights", "medium")
def frequent_travellers(rng: random.Random, probe: Probe) -> Draft:
    nationality = rng.choice(probe.column("SELECT DISTINCT nationality FROM passengers ORDER BY nationality"))
    k = rng.choice((2, 4, 6, 9))
    return Draft(f"Which passengers of nationality '{nationality}' have more than {k} bookings? Give their "
                 "first name, last name and number of bookings.",
                 "SELECT p.first_name, p.last_name, COUNT(*) FROM passengers p "
                 f"JOIN bookings b ON b.passenger_id = p.passenger_id WHERE p.nationality = {q(nationality)} "
                 f"GROUP BY p.passenger_id, p.first_name, p.last_name HAVING COUNT(*) > {k}")


@template("flights", "medium")
def revenue_per_class(rng: random.Random, probe: Probe) -> Draft:
    airline = rng.choice(probe.column("SELECT name FROM airlines ORDER BY name"))
    return Draft(f"For the airline '{airline}', what is the total booking revenue per seat class? Give the "
                 "seat class and the revenue rounded to 2 decimals.",
                 "SELECT b.seat_class, ROUND(SUM(b.price), 2) FROM bookings b "
                 "JOIN flights f ON f.flight_id = b.flight_id JOIN airlines a ON a.airline_id = f.airline_id "
                 f"WHERE a.name = {q(airline)} GROUP BY b.seat_class")


@template("flights", "hard")
def top_routes(rng: random.Random, probe: Probe) -> Draft:
    k = rng.choice((2, 3, 5))
    year = rng.choice((2023, 2024))
    routes = ("FROM flights f JOIN bookings b ON b.flight_id = f.flight_id "
              f"WHERE f.departure_date LIKE '{year}-%' GROUP BY f.origin, f.destination")
    return Draft(f"Which {k} routes (origin and destination airport codes) had the most bookings on flights "
                 f"departing in {year}? Give the origin, the destination and the number of bookings, most first.",
                 f"SELECT f.origin, f.destination, COUNT(*) AS n {routes} ORDER BY n DESC LIMIT {k}",
                 (f"SELECT COUNT(*) AS n {routes} ORDER BY n DESC LIMIT {k + 1}", k))


@template("flights", "hard")
def slowest_airline_from(rng: random.Random, probe: Probe) -> Draft:
    city = rng.choice(probe.column("SELECT city FROM airports ORDER BY city"))
    ranked = ("FROM airlines a JOIN flights f ON f.airline_id = a.airline_id "
              f"JOIN airports ap ON ap.code = f.origin WHERE ap.city = {q(city)} GROUP BY a.airline_id")
    return Draft(f"Of the airlines flying out of {city}, which has the longest average flight duration on "
                 "those departures? Give the airline name and the average duration in minutes rounded to "
                 "1 decimal.",
                 f"SELECT a.name, ROUND(AVG(f.duration_minutes), 1) AS average {ranked} "
                 "ORDER BY AVG(f.duration_minutes) DESC LIMIT 1",
                 (f"SELECT ROUND(AVG(f.duration_minutes), 1) AS average {ranked} ORDER BY average DESC LIMIT 2", 1))


@template("flights", "hard")
def never_premium(rng: random.Random, probe: Probe) -> Draft:
    nationality = rng.choice(probe.column("SELECT DISTINCT nationality FROM passengers ORDER BY nationality"))
    return Draft(f"List the first and last names of the frequent flyers (frequent_flyer = 1) of nationality "
                 f"'{nationality}' who have booked at least one flight but never a business or first class seat.",
                 "SELECT p.first_name, p.last_name FROM passengers p "
                 f"WHERE p.frequent_flyer = 1 AND p.nationality = {q(nationality)} "
                 "AND p.passenger_id IN (SELECT passenger_id FROM bookings) "
                 "AND p.passenger_id NOT IN (SELECT passenger_id FROM bookings "
                 "WHERE seat_class IN ('business', 'first'))")


@template("flights", "hard")
def pricier_airlines(rng: random.Random, probe: Probe) -> Draft:
    seat_class = rng.choice(("economy", "premium", "business"))
    return Draft(f"Which airlines have an average {seat_class} booking price above the average {seat_class} "
                 "booking price over all airlines? Give the airline names.",
                 "SELECT a.name FROM airlines a JOIN flights f ON f.airline_id = a.airline_id "
                 f"JOIN bookings b ON b.flight_id = f.flight_id WHERE b.seat_class = {q(seat_class)} "
                 "GROUP BY a.airline_id, a.name HAVING AVG(b.price) > "
                 f"(SELECT AVG(price) FROM bookings WHERE seat_class = {q(seat_class)})")


@template("flights", "hard")
def destinations_of_airline(rng: random.Random, probe: Probe) -> Draft:
    airline = rng.choice(probe.column("SELECT name FROM airlines ORDER BY name"))
    country = rng.choice(probe.column("SELECT DISTINCT country FROM airports ORDER BY country"))
    return Draft(f"Which cities in {country} can be reached by a flight of '{airline}' whose passengers "
                 "include at least one frequent flyer? Give the city names.",
                 "SELECT DISTINCT ap.city FROM airports ap JOIN flights f ON f.destination = ap.code "
                 f"JOIN airlines a ON a.airline_id = f.airline_id WHERE a.name = {q(airline)} "
                 f"AND ap.country = {q(country)} AND f.flight_id IN (SELECT b.flight_id FROM bookings b "
                 "JOIN passengers p ON p.passenger_id = b.passenger_id WHERE p.frequent_flyer = 1)")
