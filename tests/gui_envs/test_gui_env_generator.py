"""The screen generator: same seed, same app, same boxes, same pixels; boxes from the DOM are
exact (a real click at a box's centre reaches that element); difficulty moves density, target
size and look-alike labels the way it says."""

from __future__ import annotations

import random
import statistics

import numpy as np
import pytest

from agentgym.envs.gui import vocab
from agentgym.envs.gui.apps import generate_phone_task
from agentgym.envs.gui.grounding import GroundingEnv
from agentgym.envs.gui.page import load_app, read_screen
from agentgym.envs.gui.screens import SCREEN_KINDS, generate_screen
from agentgym.envs.gui.themes import DEVICE_SIZES


@pytest.mark.parametrize("device", ["desktop", "phone"])
@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_same_seed_same_spec_and_candidates(device, difficulty):
    for seed in range(20):
        first = generate_screen(random.Random(seed), device=device, difficulty=difficulty)
        again = generate_screen(random.Random(seed), device=device, difficulty=difficulty)
        assert first.spec == again.spec and first.candidates == again.candidates and first.kind == again.kind
    kinds = {generate_screen(random.Random(seed), device=device, difficulty=difficulty).kind for seed in range(60)}
    assert kinds == set(SCREEN_KINDS)
    specs = {repr(generate_screen(random.Random(seed), device=device, difficulty=difficulty).spec) for seed in range(20)}
    assert len(specs) == 20


def test_same_seed_same_phone_and_task():
    for seed in range(20):
        first = generate_phone_task(random.Random(seed), device="phone", difficulty="medium")
        again = generate_phone_task(random.Random(seed), device="phone", difficulty="medium")
        assert first.spec == again.spec and first.task == again.task
    goals = {generate_phone_task(random.Random(seed), device="phone", difficulty="medium").task.goal for seed in range(20)}
    assert len(goals) >= 15


def test_same_seed_same_boxes_and_pixels_in_another_context(make_gui):
    """Two environments (two browser contexts), the second after other episodes: the same seed
    renders the same elements, boxes, target and screenshot, pixel for pixel."""
    first = make_gui(GroundingEnv, "hard", device="phone")
    second = make_gui(GroundingEnv, "hard", device="phone", fresh_context=True)
    second.reset(seed=99)
    for seed in (3, 4):
        obs_a, _ = first.reset(seed=seed)
        obs_b, _ = second.reset(seed=seed)
        assert obs_a["text"] == obs_b["text"]
        assert np.array_equal(obs_a["image"], obs_b["image"])
        assert first.elements == second.elements
        assert first.current_target() == second.current_target()
    assert not np.array_equal(first.reset(seed=5)[0]["image"], first.reset(seed=6)[0]["image"])


_RECT = "(id) => { const r = document.querySelector(`[data-gid=\"${id}\"]`).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
_SNAPSHOT = "() => window.__gui.snapshot()"


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_click_at_a_box_centre_reaches_that_element(gui_pool, device):
    """For screens of every kind: each candidate target's box equals getBoundingClientRect
    (asked separately), and a real mouse click at its centre is delivered to that element
    (the runtime records the element the click event reached)."""
    session = gui_pool.open_session(viewport=DEVICE_SIZES[device])
    clicked = 0
    try:
        for index, kind in enumerate(SCREEN_KINDS):
            for difficulty in ("hard",):
                generated = generate_screen(random.Random(index), device=device, difficulty=difficulty, kinds=(kind,))
                elements = session.run(lambda page: (load_app(page, generated.spec, 10_000),
                                                     read_screen(page, tree=False))[1])["elements"]
                by_id = {element["id"]: element for element in elements}
                in_view = [c.id for c in generated.candidates if c.id in by_id]
                assert in_view, f"{kind}/{difficulty}: no candidate in view"
                for element_id in random.Random(index).sample(in_view, min(3, len(in_view))):
                    element = by_id[element_id]
                    box = element["box"]
                    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)

                    def click(page):
                        load_app(page, generated.spec, 10_000)
                        rect = page.evaluate(_RECT, element_id)
                        page.mouse.click(*centre)
                        return rect, page.evaluate(_SNAPSHOT)["last_click"]

                    rect, last_click = session.run(click)
                    assert rect == pytest.approx(element["full"], abs=1e-6)
                    if element["box"] == element["full"]:
                        assert element["reachable"], f"{kind}: {element['label']} is covered at its centre"
                    assert last_click == element_id, f"{kind}/{difficulty}: a click at the centre of {element['label']!r} reached {last_click}"
                    clicked += 1
    finally:
        session.close()
    assert clicked >= 18


def test_difficulty_moves_density_size_and_lookalikes(make_gui):
    counts, areas = {}, {}
    for difficulty in ("easy", "hard"):
        env = make_gui(GroundingEnv, difficulty, device="desktop", kinds=["form", "settings", "table", "list"])
        n, sizes = [], []
        for seed in range(5):
            env.reset(seed=seed)
            n.append(len(env.elements))
            box = env.current_target()["screen_box"]
            sizes.append(box[3] - box[1])
        counts[difficulty], areas[difficulty] = statistics.mean(n), statistics.median(sizes)
    assert counts["hard"] > 1.5 * counts["easy"]
    assert areas["hard"] < areas["easy"]

    def lookalike_families(difficulty):
        found = 0
        for seed in range(30):
            spec = generate_screen(random.Random(seed), device="desktop", difficulty=difficulty, kinds=("form",)).spec
            text = repr(spec)
            found += sum(sum(f'"{label}"' in text or f"'{label}'" in text for label in family) >= 2
                         for family in vocab.BUTTON_FAMILIES)
        return found

    assert lookalike_families("hard") > 2 * max(1, lookalike_families("easy"))
