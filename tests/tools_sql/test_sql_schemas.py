"""The generated databases: deterministic per (schema, seed), realistic sizes, consistent keys,
cached, and described to the agent with CREATE statements and sample rows."""

from __future__ import annotations

import sqlite3

import pytest

from agentgym.core import ConfigError
from agentgym.envs.tools.sql.schemas import SCHEMAS, _build, build_database

# schema -> {table: (fewest rows, most rows)} that a realistic database of it should have
SIZES = {
    "shop": {"categories": (8, 20), "customers": (300, 500), "products": (100, 200),
             "orders": (1_000, 3_000), "order_items": (2_500, 8_000)},
    "school": {"departments": (6, 10), "teachers": (40, 80), "students": (400, 900),
               "courses": (40, 90), "enrollments": (2_000, 6_000)},
    "flights": {"airports": (20, 47), "airlines": (8, 15), "flights": (1_000, 2_000),
                "passengers": (500, 1_100), "bookings": (2_500, 5_000)},
}


def _open(image: bytes) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.deserialize(image)
    return connection


@pytest.mark.parametrize("schema", SCHEMAS)
def test_same_seed_same_bytes_other_seed_other_data(schema):
    first = build_database(schema, 7)
    rebuilt = _build.__wrapped__(schema, 7)  # bypass the cache: generate again from scratch
    assert rebuilt.image == first.image and rebuilt.description == first.description
    assert build_database(schema, 8).image != first.image


def test_databases_are_cached_per_schema_and_seed():
    assert build_database("shop", 3) is build_database("shop", 3)
    assert build_database("shop", 3) is not build_database("school", 3)


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_realistic_sizes(schema, seed):
    database = build_database(schema, seed)
    counts = {table.name: table.rows for table in database.tables}
    assert set(counts) == set(SIZES[schema])
    for table, (low, high) in SIZES[schema].items():
        assert low <= counts[table] <= high, f"{schema}/{seed}: {table} has {counts[table]} rows"
    connection = _open(database.image)
    for table in database.tables:  # the recorded counts are the real ones
        assert connection.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0] == table.rows


@pytest.mark.parametrize("schema", SCHEMAS)
def test_foreign_keys_resolve_and_primary_keys_are_unique(schema):
    connection = _open(build_database(schema, 4).image)
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_data_is_skewed_and_has_gaps_like_real_data():
    shop = _open(build_database("shop", 0).image)
    per_customer = [n for (n,) in shop.execute("SELECT COUNT(*) FROM orders GROUP BY customer_id ORDER BY 1")]
    assert per_customer[-1] >= 5 * per_customer[len(per_customer) // 2], "a few customers should order a lot"
    assert shop.execute("SELECT COUNT(*) FROM products WHERE rating IS NULL").fetchone()[0] > 0
    school = _open(build_database("school", 0).image)
    assert school.execute("SELECT COUNT(*) FROM students WHERE major_id IS NULL").fetchone()[0] > 0
    assert school.execute("SELECT COUNT(*) FROM enrollments WHERE grade IS NULL").fetchone()[0] > 0
    flights = _open(build_database("flights", 0).image)
    assert flights.execute("SELECT COUNT(*) FROM flights WHERE origin = destination").fetchone()[0] == 0


@pytest.mark.parametrize("schema", SCHEMAS)
def test_description_shows_create_statements_and_sample_rows(schema):
    database = build_database(schema, 0)
    for table in database.tables:
        assert f"CREATE TABLE {table.name} (" in database.description
        assert f"-- {table.rows} rows; the first 3:" in database.description
        assert all(column in database.description for column, _ in table.columns)
        assert all(table.samples[column] for column, _ in table.columns), "every column has sample values"
    assert database.name == f"{schema}_0"


@pytest.mark.parametrize("schema, seed", [("library", 0), ("shop", -1), ("shop", 1.5), ("shop", True), (None, 0)])
def test_bad_schema_or_seed_is_a_config_error(schema, seed):
    with pytest.raises(ConfigError):
        build_database(schema, seed)
