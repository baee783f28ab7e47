"""A generated shop catalogue and the shopping instructions drawn from it.

``generate_catalogue(size, seed)`` makes ``size`` products deterministically: product ``i``
comes from its own generator seeded with ``(seed, i)``, so the same ``(size, seed)`` gives the
same catalogue in every process, and a smaller catalogue of the same seed is a prefix of a
larger one. Each :class:`Product` has a WebShop-style id (``B0`` and eight letters or digits), a
type (:data:`~.vocabulary.PRODUCT_TYPES`: the category path, the attribute pool, the option
groups and the price range), a brand, a title that names the type and some of its attributes,
3-5 attributes ("gluten free", "machine washable"), its options (a subset of each group's
values, at least two), a price, a rating, a description, features (bullet points) and reviews.
The product texts mention only the product's own attributes, so the reward's text check
(:mod:`.reward`) cannot credit an attribute a product does not have.

``Catalogue.draw_goal(rng, difficulty)`` draws a shopping task: a target product, some of its
attributes, one value of some of its option groups and a price limit above its price (one of
the next multiples of ten), written as an instruction such as "i need a gluten free snack pack
with size: 12 count, and price lower than 30.00 dollars". :class:`Goal` keeps what the reward
needs and ``goal_ids``: every product whose purchase with the goal's options scores 1.0
(the target among them; products of other types too, which the reward's type match can credit
by a shared category or title). Difficulty ``easy`` asks for one attribute and one option, ``hard``
for two or three attributes and every option group, ``mixed`` draws between them.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Sequence, TypeVar

from .vocabulary import BRANDS, PRODUCT_TYPES, QUALIFIERS, ProductType

DIFFICULTIES = ("mixed", "easy", "hard")
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 5 random bits each
MAX_CATALOGUE_SIZE = 200_000
T = TypeVar("T")


@dataclass(frozen=True)
class Review:
    rating: int
    text: str


@dataclass(frozen=True)
class Product:
    """One product of the catalogue (immutable)."""

    id: str
    type: ProductType
    brand: str
    title: str
    attributes: tuple[str, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]
    price: float
    rating: float
    description: str
    features: tuple[str, ...]
    reviews: tuple[Review, ...]

    def __hash__(self) -> int:  # ids are unique; hashing every field would be slow (rewards cache by product)
        return hash(self.id)

    @property
    def type_name(self) -> str:
        return self.type.name

    @property
    def category(self) -> tuple[str, str, str]:
        return self.type.category

    def option_values(self, group: str) -> tuple[str, ...]:
        """The values of option group ``group`` this product offers (``()`` if none)."""
        return next((values for name, values in self.options if name == group), ())

    def search_text(self) -> str:
        """What the shop's search engine indexes: title, type, attributes, first feature and the
        option values (WebShop indexes title, description, first bullet point and options)."""
        option_text = " ".join(value for _, values in self.options for value in values)
        return " ".join((self.title, self.type.name, " ".join(self.attributes), self.features[0], option_text))


@dataclass(frozen=True)
class Goal:
    """A shopping task. ``text`` is the instruction the agent reads; the rest is hidden."""

    text: str
    target_id: str
    type_name: str
    category: tuple[str, str, str]
    target_title: str
    attributes: tuple[str, ...]
    options: Mapping[str, str]
    price_upper: float
    goal_ids: frozenset[str] = field(default_factory=frozenset)

    def to_dict(self) -> dict:
        return {"text": self.text, "target_id": self.target_id, "type": self.type_name,
                "attributes": list(self.attributes), "options": dict(self.options),
                "price_upper": self.price_upper, "goal_ids": sorted(self.goal_ids)}


class Catalogue:
    """The products of one ``(size, seed)``, indexed by id, by type and by option value."""

    def __init__(self, products: list[Product], size: int, seed: int) -> None:
        self.products = tuple(products)
        self.size = size
        self.seed = seed
        self.by_id = {p.id: p for p in self.products}
        by_type: dict[str, list[Product]] = {}
        for product in self.products:
            by_type.setdefault(product.type.name, []).append(product)
        self.by_type = {name: tuple(items) for name, items in by_type.items()}

    def __len__(self) -> int:
        return len(self.products)

    def __getitem__(self, product_id: str) -> Product:
        return self.by_id[product_id]

    @cached_property
    def _goal_candidates(self) -> tuple[Product, ...]:
        return tuple(p for p in self.products if p.options)

    @cached_property
    def offering(self) -> dict[tuple[str, str], frozenset[str]]:
        """The ids of the products offering each ``(option group, value)`` (built on first use)."""
        index: dict[tuple[str, str], set[str]] = {}
        for product in self.products:
            for name, values in product.options:
                for value in values:
                    index.setdefault((name, value), set()).add(product.id)
        return {item: frozenset(ids) for item, ids in index.items()}

    def draw_goal(self, rng: random.Random, difficulty: str = "mixed") -> Goal:
        """A shopping task drawn with ``rng`` (see the module docstring)."""
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
        target = rng.choice(self._goal_candidates)
        level = rng.choice(("easy", "hard")) if difficulty == "mixed" else difficulty
        if level == "easy":
            attributes = (rng.choice(target.attributes),)
            groups = [rng.choice(target.options)]
        else:
            count = min(len(target.attributes), rng.choice((2, 3)))
            attributes = tuple(rng.sample(target.attributes, count))
            groups = list(target.options)
        options = {name: rng.choice(values) for name, values in groups}
        price_upper = _price_limit(target.price, rng)
        text = _instruction_text(rng, target.type, attributes, options, price_upper)
        goal = Goal(text, target.id, target.type.name, target.category, target.title, attributes,
                    options, price_upper)
        return _with_goal_ids(goal, self)


def _price_limit(price: float, rng: random.Random) -> float:
    """One of the second to fourth multiples of ten above ``price`` (WebShop draws its limit
    from the next few multiples of ten above the target's price)."""
    first = int(price // 10) + 1
    return float(10 * (first + rng.randint(1, 3)))


def _with_goal_ids(goal: Goal, catalogue: Catalogue) -> Goal:
    # the reward decides which purchases fulfil the goal
    from .reward import attribute_matches, shop_reward, type_reward

    wanted = len(goal.attributes)
    # Products of any type: the reward's r_type is 1 for a shared category or a shared title too.
    # Those that offer every goal option (an intersection of the catalogue's index), then cheap
    # necessary conditions (the price, a full type reward, every attribute) before the reward
    # itself for the few products left.
    offering = catalogue.offering
    candidates = frozenset.intersection(*(offering.get(item, frozenset()) for item in goal.options.items()))
    products = (catalogue.by_id[product_id] for product_id in candidates)
    ids = frozenset(p.id for p in products
                    if p.price <= goal.price_upper
                    and type_reward(p, goal)[0] == 1.0
                    and attribute_matches(p, goal.attributes) == wanted
                    and shop_reward(p, goal.options, goal).reward >= 1.0)
    return Goal(goal.text, goal.target_id, goal.type_name, goal.category, goal.target_title, goal.attributes,
                goal.options, goal.price_upper, ids | {goal.target_id})


_OPENINGS = ("i need", "i am looking for", "i want to buy", "find me", "i'd like", "please get me",
             "help me find", "i'm shopping for")


def _instruction_text(rng: random.Random, kind: ProductType, attributes: tuple[str, ...],
                      options: Mapping[str, str], price_upper: float) -> str:
    opening = rng.choice(_OPENINGS)
    described = " and ".join(attributes)
    if rng.random() < 0.5:
        subject = f"{described} {kind.name}" if kind.plural else f"{_article(described)} {described} {kind.name}"
    elif kind.plural:
        subject = f"{kind.name} that are {described}"
    else:
        subject = f"{_article(kind.name)} {kind.name} that is {described}"
    option_text = ", and ".join(f"{name}: {value}" for name, value in options.items())
    option_part = f" with {option_text}" if option_text else ""
    return f"{opening} {subject}{option_part}, and price lower than {price_upper:.2f} dollars"


def _article(phrase: str) -> str:
    return "an" if phrase[0] in "aeio" or phrase.startswith("un") else "a"


# ----------------------------------------------------------------------------- generation
def generate_catalogue(size: int, seed: int) -> Catalogue:
    """``size`` products generated from ``seed`` (deterministic; see the module docstring)."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CATALOGUE_SIZE:
        raise ValueError(f"catalogue size must be an integer from 1 to {MAX_CATALOGUE_SIZE}, got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"catalogue seed must be a non-negative integer, got {seed!r}")
    products: list[Product] = []
    taken: set[str] = set()
    for index in range(size):
        rng = random.Random(f"agentgym-shop:{seed}:{index}")
        product = _make_product(rng, taken)
        taken.add(product.id)
        products.append(product)
    return Catalogue(products, size, seed)


# Generation draws with ``rng.random()`` alone (not ``choice``/``sample``, several times slower):
# 5,000 products take well under a second.
def _choice(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def _pick(rng: random.Random, items: Sequence[T], count: int) -> list[T]:
    """``count`` distinct items of ``items`` in random order (a partial Fisher-Yates shuffle)."""
    pool = list(items)
    for i in range(count):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def _in_order(chosen: list[T], items: Sequence[T]) -> tuple[T, ...]:
    return tuple(item for item in items if item in chosen)


def _product_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        bits = rng.getrandbits(40)
        candidate = "B0" + "".join(_ID_ALPHABET[(bits >> shift) & 31] for shift in range(0, 40, 5))
        if candidate not in taken:
            return candidate


@functools.lru_cache(maxsize=4096)
def _title_case(phrase: str) -> str:
    return " ".join(word if word.isupper() else word[:1].upper() + word[1:] for word in phrase.split())


def _make_product(rng: random.Random, taken: set[str]) -> Product:
    kind = _choice(rng, PRODUCT_TYPES)
    product_id = _product_id(rng, taken)
    brand = _choice(rng, BRANDS)
    count = min(len(kind.attributes), 3 + int(rng.random() * 3))
    attributes = _in_order(_pick(rng, kind.attributes, count), kind.attributes)
    options = []
    for name, values in kind.options:
        chosen = _pick(rng, values, 2 + int(rng.random() * (len(values) - 1)))
        options.append((name, _in_order(chosen, values)))
    low, high = kind.price_range
    price = round(low + (high - low) * rng.random(), 2)
    rating = round(3.0 + 2.0 * rng.random(), 1)
    in_title = _pick(rng, attributes, min(2, len(attributes)))
    qualifier = _choice(rng, QUALIFIERS)
    title = f"{brand} {qualifier} {_title_case(kind.name)}, {', '.join(_title_case(a) for a in in_title)}"
    return Product(
        id=product_id, type=kind, brand=brand, title=title, attributes=attributes, options=tuple(options),
        price=price, rating=rating,
        description=_description(rng, kind, brand, attributes),
        features=_features(rng, kind, attributes),
        reviews=_reviews(rng, kind),
    )


_DESCRIPTION_OPENINGS = (
    "Meet the {brand} {type}, made for every day.",
    "The {brand} {type} {is} built to last and easy to love.",
    "Upgrade your routine with {this} {type} from {brand}.",
    "{brand} designed {this} {type} with care.",
)
_DESCRIPTION_CLOSINGS = (
    "Backed by a 30 day satisfaction promise.",
    "Ships in recyclable packaging.",
    "A thoughtful gift for friends and family.",
    "Customers come back to it again and again.",
)
_FEATURE_LINES = (
    "{Attribute}: one of the reasons customers choose it.",
    "{Attribute} for peace of mind.",
    "{Attribute}, as stated on the label.",
)
_GENERAL_FEATURES = (
    "Quality checked in our {category} department before shipping.",
    "Returns accepted within 30 days.",
    "Part of our {category} range.",
)
_REVIEW_LINES = {
    5: ("Exactly what I wanted, would buy {this} {type} again.", "Excellent quality for the price."),
    4: ("Good {type}, arrived quickly.", "Works well, packaging could be better."),
    3: ("It is okay, nothing special.", "Average {type}; does the job."),
    2: ("Not what I expected from the photos.", "Quality is below what I hoped for."),
    1: ("Arrived damaged.", "Would not recommend {this} {type}."),
}


def _grammar(kind: ProductType) -> dict[str, str]:
    return {"this": "these", "is": "are"} if kind.plural else {"this": "this", "is": "is"}


def _description(rng: random.Random, kind: ProductType, brand: str, attributes: tuple[str, ...]) -> str:
    opening = _choice(rng, _DESCRIPTION_OPENINGS).format(brand=brand, type=kind.name, **_grammar(kind))
    listed = ", ".join(attributes[:-1]) + f" and {attributes[-1]}" if len(attributes) > 1 else attributes[0]
    middle = f"These {kind.name} are {listed}." if kind.plural else f"This {kind.name} is {listed}."
    return " ".join((opening, middle, _choice(rng, _DESCRIPTION_CLOSINGS)))


def _features(rng: random.Random, kind: ProductType, attributes: tuple[str, ...]) -> tuple[str, ...]:
    lines = [_choice(rng, _FEATURE_LINES).format(Attribute=_title_case(a)) for a in attributes]
    lines.append(_choice(rng, _GENERAL_FEATURES).format(category=kind.category[1]))
    return tuple(lines)


def _reviews(rng: random.Random, kind: ProductType) -> tuple[Review, ...]:
    reviews = []
    for _ in range(1 + int(rng.random() * 3)):
        stars = _choice(rng, (5, 5, 4, 4, 3, 2, 1))
        reviews.append(Review(stars, _choice(rng, _REVIEW_LINES[stars]).format(type=kind.name, **_grammar(kind))))
    return tuple(reviews)
