"""Real Trajectory/Turn objects with token spans, built from per-turn token counts."""

from __future__ import annotations

from typing import Sequence

from agentgym.trajectory import Trajectory, Turn


def build_trajectory(
    rewards: Sequence[float],
    *,
    group_id: str | None = "g",
    action_tokens: Sequence[int] | int = 2,
    observation_tokens: Sequence[int] | int = 2,
    prompt_tokens: int = 3,
    observations: Sequence[str] | None = None,
    components: Sequence[dict[str, float]] | None = None,
    errors: Sequence[str | None] | None = None,
    success: bool = False,
    text_only: bool = False,
) -> Trajectory:
    """A trajectory laid out as ``prompt, (action_t, observation_t) for each turn``.

    ``action_tokens`` / ``observation_tokens`` give each turn's token counts (one int: the same
    for every turn). Each turn's ``reward`` is ``rewards[t]``; ``components[t]`` (if given) is
    stored as its ``reward_components`` as is. With ``text_only`` no tokens are recorded.
    """
    count = len(rewards)
    actions = [action_tokens] * count if isinstance(action_tokens, int) else list(action_tokens)
    observed = [observation_tokens] * count if isinstance(observation_tokens, int) else list(observation_tokens)
    observations = list(observations) if observations is not None else [f"state {t}" for t in range(count)]
    components = list(components) if components is not None else [{"task": float(r)} for r in rewards]
    errors = list(errors) if errors is not None else [None] * count
    turns: list[Turn] = []
    position = prompt_tokens
    for t in range(count):
        turn = Turn(index=t, observation=observations[t], action=f"action {t}", reward=float(rewards[t]),
                    reward_components=dict(components[t]), error=errors[t])
        if not text_only:
            turn.action_span = (position, position + actions[t])
            position += actions[t]
            turn.observation_span = (position, position + observed[t])
            position += observed[t]
        turns.append(turn)
    token_ids = None if text_only else [100 + p for p in range(position)]
    return Trajectory(group_id=group_id, turns=turns, token_ids=token_ids,
                      prompt_length=0 if text_only else prompt_tokens, success=success)


def observation_positions(trajectory: Trajectory) -> list[int]:
    """Token positions off the loss mask (prompt and observation tokens)."""
    return [p for p, bit in enumerate(trajectory.loss_mask()) if bit == 0]


def turn_positions(trajectory: Trajectory, turn: int) -> list[int]:
    """Token positions of a turn's generated tokens."""
    start, end = trajectory.turns[turn].action_span
    return list(range(start, end))



def assert_rows_close(actual: Sequence[Sequence[float]], expected: Sequence[Sequence[float]], tol: float = 1e-3) -> None:
    """Ragged lists of floats equal row by row within ``tol``."""
    assert len(actual) == len(expected), (actual, expected)
    for row, want in zip(actual, expected):
        assert len(row) == len(want) and all(abs(a - b) <= tol for a, b in zip(row, want)), (actual, expected)
