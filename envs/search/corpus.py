"""Render the synthetic world as encyclopedia articles and cache the corpus on disk.

Contract:
    ``fact_sentences(world, eid)`` gives, for every attribute and relation of the entity, the
    exact sentence its article states it in; questions cite these sentences as the fact of a hop,
    and ``render_document`` always includes every one of them verbatim.
    ``render_document(world, eid, distractors)`` returns ``{"id", "title", "text"}``: title,
    aliases, several paragraphs (introduction, facts, a "see also" paragraph of distractors
    that mention other entities and near-duplicate names). Distractor sentences never use the
    wording of a fact sentence, so a fact string matches only in its own article.
    ``iter_documents(world)`` streams the articles in id order (nothing is held in memory).
    ``build_corpus(size, seed, cache_dir)`` writes the articles once as JSONL shards plus a
    ``manifest.json`` (size, seed, version, shards, counts) into a directory named after
    (version, size, seed, distractors); the directory appears atomically (built in a temporary
    sibling, then renamed), and a later call with the same arguments reuses it untouched (a
    directory whose shards are missing or not the size the manifest gives is built again).
    ``size`` and ``seed`` are checked as ``World`` checks them, whether or not the corpus is
    cached (``"100"`` found the cached ``100`` but failed where nothing was cached).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .world import (CATEGORICAL, CITY, EVENT, GENRES, INDUSTRIES, OCCUPATIONS, ORG, PERSON,
                    REGIONS, TYPES, WORK, World, check_world_args)

CORPUS_VERSION = 1
DEFAULT_SHARD_SIZE = 50_000


def doc_id(eid: int) -> str:
    """Document id of an entity's article."""
    return f"e{int(eid):07d}"


def fact_sentences(world: World, eid: int) -> dict[str, str]:
    """Map attribute/relation name -> the exact sentence stating it in the entity's article."""
    c, n = world.columns, world.name
    name, t = n(eid), world.type[eid]
    if t == PERSON:
        return {"birth_year": f"{name} was born in the year {c['birth_year'][eid]}.",
                "birth_city": f"{name} was born in the city of {n(c['birth_city'][eid])}.",
                "employer": f"{name} worked for the {n(c['employer'][eid])}.",
                "occupation": f"{name} was a {OCCUPATIONS[c['occupation'][eid]]} by training."}
    if t == CITY:
        return {"population": f"{name} has a population of {c['population'][eid]:,}.",
                "region": f"{name} lies in {REGIONS[c['region'][eid]]}."}
    if t == ORG:
        return {"founded_year": f"The {name} was founded in the year {c['founded_year'][eid]}.",
                "founder": f"The {name} was founded by {n(c['founder'][eid])}.",
                "hq": f"The {name} is headquartered in {n(c['hq'][eid])}.",
                "industry": f"The {name} is active in {INDUSTRIES[c['industry'][eid]]}."}
    if t == WORK:
        return {"author": f"{name} was written by {n(c['author'][eid])}.",
                "publisher": f"{name} was published by the {n(c['publisher'][eid])}.",
                "year": f"{name} first appeared in the year {c['year'][eid]}.",
                "genre": f"{name} is a {GENRES[c['genre'][eid]]}."}
    return {"location": f"The {name} took place in {n(c['location'][eid])}.",
            "organiser": f"The {name} was organised by the {n(c['organiser'][eid])}.",
            "event_year": f"The {name} was held in the year {c['event_year'][eid]}."}


_INTROS = {PERSON: "is a person", CITY: "is a city", ORG: "is an organisation",
           WORK: "is a written work", EVENT: "is a historical event"}


def _check_distractors(distractors: object) -> int:
    """``distractors`` when it is an int in [0, 3] (``World.mentions`` has 3 per entity), else a
    ``ValueError``: -1 sliced the mentions from the end (two distractors), 7 gave three."""
    if isinstance(distractors, bool) or not isinstance(distractors, int) or not 0 <= distractors <= 3:
        raise ValueError(f"distractors must be an int in [0, 3], got {distractors!r}")
    return distractors


def render_document(world: World, eid: int, distractors: int = 2) -> dict[str, str]:
    """One article as ``{"id", "title", "text"}``; see the module docstring. ``distractors``
    (0 to 3) is the number of other entities mentioned in its "see also" paragraph."""
    _check_distractors(distractors)
    name, t = world.name(eid), int(world.type[eid])
    aliases = world.aliases(eid)
    facts = list(fact_sentences(world, eid).values())
    intro = (f"{name} (also known as {', '.join(aliases)}) {_INTROS[t]} "
             f"described in this encyclopedia. {facts[0]}")
    body = " ".join(facts[1:])
    see_also = []
    for k, other in enumerate(world.mentions[eid][:distractors]):
        other = int(other)
        if other == eid:
            continue
        kind = TYPES[world.type[other]]
        kind = ("an " if kind[0] in "aeiou" else "a ") + kind
        if k % 2 == 0:
            see_also.append(f"Some accounts mention {name} alongside {world.name(other)}, {kind}.")
        else:
            see_also.append(f"Records of {world.name(other)} ({kind}) cite {name} in passing.")
    for dup in world.near_duplicates(eid)[:max(distractors, 0)]:
        see_also.append(f"{name} should not be confused with {world.name(dup)}, another "
                        f"{TYPES[world.type[dup]]}.")
    paragraphs = [intro, body] + ([" ".join(see_also)] if see_also else [])
    return {"id": doc_id(eid), "title": name, "text": "\n\n".join(paragraphs)}


def iter_documents(world: World, distractors: int = 2) -> Iterator[dict[str, str]]:
    """Stream every article of the world in id order."""
    for eid in range(world.size):
        yield render_document(world, eid, distractors)


@dataclass(frozen=True)
class Corpus:
    """A built corpus on disk: its directory and manifest."""
    path: Path
    manifest: dict

    def shard_paths(self) -> list[Path]:
        return [self.path / s for s in self.manifest["shards"]]

    def iter_documents(self) -> Iterator[dict[str, str]]:
        """Stream the stored articles, shard by shard."""
        for shard in self.shard_paths():
            with open(shard, encoding="utf-8") as f:
                for line in f:
                    yield json.loads(line)


def _manifest_ok(path: Path, expected: dict) -> dict | None:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if any(manifest.get(k) != v for k, v in expected.items()):
        return None
    try:  # every shard there, and as long as written (a truncated copy is built again)
        if sum((path / s).stat().st_size for s in manifest["shards"]) != manifest["bytes"]:
            return None
    except (OSError, KeyError, TypeError):
        return None
    return manifest


def build_corpus(size: int, seed: int, cache_dir: str | os.PathLike, *, distractors: int = 2,
                 shard_size: int = DEFAULT_SHARD_SIZE) -> Corpus:
    """Build (or reuse) the corpus for (size, seed) under ``cache_dir``; see module docstring."""
    _check_distractors(distractors)
    size, seed = check_world_args(size, seed)  # as World(size, seed), also for a cached corpus
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"shard_size must be a positive int, got {shard_size!r}")
    expected = {"version": CORPUS_VERSION, "size": size, "seed": seed,
                "distractors": distractors}
    cache_dir = Path(cache_dir)
    final = cache_dir / f"world-v{CORPUS_VERSION}-n{size}-s{seed}-d{distractors}"
    manifest = _manifest_ok(final, expected)
    if manifest is not None:
        return Corpus(final, manifest)
    world = World(size, seed)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=cache_dir))
    out = None
    try:
        shards, n_bytes = [], 0
        for eid, doc in enumerate(iter_documents(world, distractors)):
            if eid % shard_size == 0:
                if out is not None:
                    out.close()
                shards.append(f"shard-{len(shards):05d}.jsonl")
                out = open(tmp / shards[-1], "w", encoding="utf-8")
            line = json.dumps(doc, ensure_ascii=False) + "\n"
            n_bytes += len(line.encode("utf-8"))
            out.write(line)
        out.close()
        out = None
        manifest = dict(expected, shards=shards, documents=world.size, bytes=n_bytes,
                        shard_size=shard_size)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if final.exists():  # a stale or partial directory from an older run
            if _manifest_ok(final, expected) is not None:
                shutil.rmtree(tmp)
                return Corpus(final, _manifest_ok(final, expected))
            shutil.rmtree(final)
        try:
            os.rename(tmp, final)
        except OSError:  # another builder won the race: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
            manifest = _manifest_ok(final, expected)
            if manifest is None:
                raise
        return Corpus(final, manifest)
    except BaseException:
        if out is not None:  # a failed write (a full disk, Ctrl-C) must not keep the shard open
            with contextlib.suppress(OSError):
                out.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
