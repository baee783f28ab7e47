"""A deterministic synthetic world of typed entities with attributes and relations.

Contract:
    ``World(size, seed)`` holds ``size`` entities, one per future encyclopedia article.
    Entity ids are ``0 .. size-1`` (``code``, ``name``, ``aliases`` and ``near_duplicates`` raise
    ``IndexError`` for any other, such as a column's ``-1``); the id fixes nothing but the
    entity's name code, and everything else (type, attributes, relations, split) comes from
    ``numpy`` generators seeded with ``(seed, size)`` only, so the same (size, seed) always gives
    the same world, and a world of another size is another world (``World(200, 0)``'s first 100
    entities are not ``World(100, 0)``'s: the same ids have other types and names).
    All columns are numpy arrays of length ``size`` (``-1`` where a column does not apply
    to the entity's type): int32 for relations (entity ids) and numbers, int8 for categories,
    so a world of 1M entities needs about 70 MB, not GBs.

    Names are unique: each id maps bijectively to a code in ``[0, NAME_SPACE)`` and the code's
    four base-48 digits are rendered with fixed-width syllables, so different codes never
    render to the same string. Ids in one block of ``BLOCK`` get codes differing only in the
    last digit: *near-duplicate* names (e.g. same first name, surname differing in one
    syllable), used as distractors.

    Splits: every entity is ``train`` (0) or ``held_out`` (1). Relations only link entities
    of the same split, so any question built by following relations stays inside one split;
    except in a world so small that a type has fewer than 4 entities, all in one split (about 2%
    of seeds at ``MIN_SIZE``): a relation to that type from the other split takes its target
    there, and the questions (``generate_questions`` drops any that would cross) avoid it.
"""
from __future__ import annotations

import numpy as np

TYPES = ("person", "city", "organisation", "work", "event")
PERSON, CITY, ORG, WORK, EVENT = range(5)
TYPE_SHARES = np.array([0.40, 0.15, 0.15, 0.18, 0.12])

_CONSONANTS = "bdfgklmnprstv"[:12]
_VOWELS = "aeio"
SYLLABLES = tuple(c + v for c in _CONSONANTS for v in _VOWELS)  # 48 two-letter syllables
RADIX = len(SYLLABLES)
NAME_SPACE = RADIX**4
BLOCK = 4  # ids per near-duplicate block
_BLOCKS = NAME_SPACE // BLOCK
_MULT = 1_234_577  # odd and not divisible by 3, so coprime with _BLOCKS = 2**14 * 3**4
_OFFSET = 918_273
_INVERSE_MULT = pow(_MULT, -1, _BLOCKS)

FIRST_NAMES = (
    "Ada", "Bram", "Cora", "Dov", "Elin", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lev",
    "Mira", "Nils", "Oona", "Pavel", "Quinn", "Rosa", "Sven", "Tova", "Ugo", "Vera", "Wim", "Xenia",
    "Yara", "Zeno", "Alma", "Boris", "Clea", "Dario", "Edda", "Fabio", "Gaia", "Hans", "Ida", "Jora",
    "Kai", "Lina", "Milo", "Nora", "Otto", "Pia", "Runa", "Saul", "Tilde", "Ulla", "Vito", "Wanda",
)
ORG_KINDS = ("Company", "Institute", "Society", "Guild", "Foundation", "Trust")
EVENT_KINDS = ("Festival", "Accord", "Expedition", "Congress", "Uprising", "Exhibition")
OCCUPATIONS = ("engineer", "painter", "historian", "chemist", "poet", "architect", "physician",
               "cartographer", "composer", "merchant")
INDUSTRIES = ("shipping", "textiles", "publishing", "mining", "banking", "optics", "brewing")
GENRES = ("novel", "treatise", "poem cycle", "play", "atlas", "memoir")
REGIONS = ("the northern coast", "the river valley", "the high plateau", "the eastern marches",
           "the southern lakes", "the western hills")

# relation name -> (source type, target type); attribute name -> source type
RELATIONS = {
    "birth_city": (PERSON, CITY), "employer": (PERSON, ORG),
    "hq": (ORG, CITY), "founder": (ORG, PERSON),
    "author": (WORK, PERSON), "publisher": (WORK, ORG),
    "location": (EVENT, CITY), "organiser": (EVENT, ORG),
}
NUMERIC = {"birth_year": PERSON, "population": CITY, "founded_year": ORG,
           "year": WORK, "event_year": EVENT}
CATEGORICAL = {"occupation": (PERSON, OCCUPATIONS), "region": (CITY, REGIONS),
               "industry": (ORG, INDUSTRIES), "genre": (WORK, GENRES)}

MIN_SIZE = 50


def check_world_args(size: object, seed: object) -> tuple[int, int]:
    """``(size, seed)`` as ints when ``World(size, seed)`` takes them: ``TypeError`` for a size
    that is not an int (numpy's included), ``ValueError`` for one outside ``[MIN_SIZE,
    NAME_SPACE]`` or a seed that is not a non-negative int."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"size must be an int, got {type(size).__name__}")
    if not MIN_SIZE <= size <= NAME_SPACE:
        raise ValueError(f"size must be in [{MIN_SIZE}, {NAME_SPACE}], got {size}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return int(size), int(seed)


def _digits(code: int) -> tuple[int, int, int, int]:
    return (code // RADIX**3, (code // RADIX**2) % RADIX, (code // RADIX) % RADIX, code % RADIX)


def _syl(*ds: int) -> str:
    return "".join(SYLLABLES[d] for d in ds).capitalize()


class World:
    """Entities with typed attributes and relations; see the module docstring for the contract."""

    def __init__(self, size: int, seed: int = 0):
        self.size, self.seed = check_world_args(size, seed)
        rng = np.random.default_rng([self.seed, self.size])
        n = self.size
        # Types: the first 5 ids cover every type so tiny worlds are complete; rest by share.
        self.type = np.concatenate([np.arange(5), rng.choice(5, size=n - 5, p=TYPE_SHARES)]).astype(np.int8)
        # Split: about 20% held out, at least a few of each type in each split.
        self.split = (rng.random(n) < 0.2).astype(np.int8)
        for t in range(5):
            ids = np.flatnonzero(self.type == t)
            if len(ids) >= 4:
                self.split[ids[:2]] = 0
                self.split[ids[2:4]] = 1
        self.columns: dict[str, np.ndarray] = {}
        for rel, (src, dst) in RELATIONS.items():
            col = np.full(n, -1, dtype=np.int32)  # ids < NAME_SPACE < 2**31
            for s in (0, 1):
                sources = np.flatnonzero((self.type == src) & (self.split == s))
                targets = np.flatnonzero((self.type == dst) & (self.split == s))
                if len(targets) == 0:
                    targets = np.flatnonzero(self.type == dst)
                col[sources] = targets[rng.integers(0, len(targets), size=len(sources))]
            self.columns[rel] = col
        lows = {"birth_year": (1700, 1990), "population": (2_000, 3_000_000),
                "founded_year": (1600, 1990), "year": (1720, 2020), "event_year": (1650, 2020)}
        for attr, t in NUMERIC.items():
            col = np.full(n, -1, dtype=np.int32)
            mask = self.type == t
            lo, hi = lows[attr]
            col[mask] = rng.integers(lo, hi, size=int(mask.sum()))
            self.columns[attr] = col
        for attr, (t, values) in CATEGORICAL.items():
            col = np.full(n, -1, dtype=np.int8)
            mask = self.type == t
            col[mask] = rng.integers(0, len(values), size=int(mask.sum()))
            self.columns[attr] = col
        # Random "mention" targets for distractor sentences: any other entity.
        self.mentions = rng.integers(0, n, size=(n, 3)).astype(np.int32)

    # -- names -----------------------------------------------------------------------------
    def _entity(self, eid: int) -> int:
        """``eid`` as an int, ``IndexError`` unless it is an entity of this world: ``-1``, what a
        column holds where it does not apply, indexed numpy's last entity and got a made-up name."""
        if type(eid) is not int:  # noqa: E721 - the common case first, bool is not an id
            if isinstance(eid, bool) or not isinstance(eid, (int, np.integer)):
                raise TypeError(f"an entity id must be an int, got {type(eid).__name__}")
            eid = int(eid)
        if not 0 <= eid < self.size:
            raise IndexError(f"entity id {eid} out of range for a world of {self.size} entities")
        return eid

    def code(self, eid: int) -> int:
        """The entity's name code, a bijection of the id onto ``[0, NAME_SPACE)``.

        Ids are taken in blocks of ``BLOCK`` (same ``eid // BLOCK``); the block is scrambled
        by an affine permutation, and the members of a block get codes that differ only in the
        last base-48 digit, i.e. near-duplicate names.
        """
        if type(eid) is not int or not 0 <= eid < self.size:  # noqa: E721 - the fast path
            eid = self._entity(eid)
        hi, lo = divmod(eid, BLOCK)
        scrambled = (hi * _MULT + _OFFSET) % _BLOCKS
        group, sub = divmod(scrambled, RADIX // BLOCK)
        return group * RADIX + lo * (RADIX // BLOCK) + sub

    def name(self, eid: int) -> str:
        """Unique display name of an entity (depends on its type and name code); ``IndexError``
        for an id outside ``0 .. size-1``."""
        d0, d1, d2, d3 = _digits(self.code(eid))
        t = self.type[eid]
        if t == PERSON:
            return f"{FIRST_NAMES[d0]} {_syl(d1, d2, d3)}"
        if t == CITY:
            return f"{_syl(d0, d1)}{SYLLABLES[d2]}{SYLLABLES[d3]}n"
        if t == ORG:
            return f"{_syl(d0, d1)} {_syl(d2, d3)} {ORG_KINDS[d0 % len(ORG_KINDS)]}"
        if t == WORK:
            return f"The {_syl(d0, d1)} of {_syl(d2, d3)}"
        return f"{_syl(d0, d1, d2)} {_syl(d3)} {EVENT_KINDS[d0 % len(EVENT_KINDS)]}"

    def aliases(self, eid: int) -> list[str]:
        """Other names the article gives the entity (never equal to another entity's name)."""
        d0, d1, d2, d3 = _digits(self.code(eid))
        t = self.type[eid]
        name = self.name(eid)
        if t == PERSON:
            return [f"{FIRST_NAMES[d0][0]}. {_syl(d1, d2, d3)}"]
        if t == CITY:
            return [f"Old {name}"]
        if t == ORG:
            return [f"{name.split()[0][0]}{name.split()[1][0]}{name.split()[2][0]}-{d2:02d}{d3:02d}"]
        if t == WORK:
            return [name[4:]]
        return [name.rsplit(" ", 1)[0]]

    def unique_aliases(self, eid: int) -> list[str]:
        """The entity's aliases that no other entity of this world has. A person's alias keeps
        only the first name's initial ("A. Babebi": Ada's and Alma's), an organisation's only
        the initials of its name's words ("BDC-0512": the second syllable is dropped), so two
        entities can share one; an answer given as a shared alias names neither."""
        alias = self.aliases(eid)
        d0, d1, d2, d3 = _digits(self.code(eid))
        t = self.type[eid]
        if t == PERSON:  # the other first names with the same initial
            rivals = [(o, d1, d2, d3) for o in range(RADIX) if o != d0 and FIRST_NAMES[o][0] == FIRST_NAMES[d0][0]]
        elif t == ORG:  # the same initials, kind (d0) and digits: any other second syllable
            rivals = [(d0, o, d2, d3) for o in range(RADIX) if o != d1]
        else:  # the whole code is in the alias
            return alias
        for digits in rivals:
            other = self._entity_of_code(((digits[0] * RADIX + digits[1]) * RADIX + digits[2]) * RADIX + digits[3])
            if other is not None and self.type[other] == t and self.aliases(other) == alias:
                return []
        return alias

    def _entity_of_code(self, code: int) -> int | None:
        """The id whose name code is ``code`` (``code``'s inverse); None when it is past the world."""
        group, rest = divmod(code, RADIX)
        lo, sub = divmod(rest, RADIX // BLOCK)
        hi = ((group * (RADIX // BLOCK) + sub - _OFFSET) * _INVERSE_MULT) % _BLOCKS
        eid = hi * BLOCK + lo
        return eid if eid < self.size else None

    def near_duplicates(self, eid: int) -> list[int]:
        """Ids of same-type entities in the same name block: their names differ from this
        one's only in the last syllable."""
        hi = self._entity(eid) // BLOCK
        return [o for o in range(hi * BLOCK, min(hi * BLOCK + BLOCK, self.size))
                if o != eid and self.type[o] == self.type[eid]]

    def ids_of_type(self, t: int, split: int | None = None) -> np.ndarray:
        mask = self.type == t
        if split is not None:
            mask &= self.split == split
        return np.flatnonzero(mask)
