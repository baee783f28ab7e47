"""Shared pieces of the clinical interview tests: a tiny table written out by hand, and the
registration of the environments (the package registers them on import)."""

from __future__ import annotations

import copy

import pytest

import agentgym.envs.dialogue.clinical  # noqa: F401  (registers dialogue/ClinicalInterview*-v0)

#: Two conditions, one finding, one test: small enough to compute the posterior by hand.
TINY = {
    "notice": "test data",
    "difficulties": {"easy": {"conditions": "all", "turn_budget": 4},
                     "medium": {"conditions": ["alpha fever", "beta flu"], "turn_budget": 5},
                     "hard": {"conditions": "all", "turn_budget": 6}},
    "conditions": [
        {"name": "alpha fever", "aliases": ["alpha"], "prevalence": 0.3,
         "findings": {"fever": 0.8}, "tests": {"swab": 0.9}},
        {"name": "beta flu", "aliases": ["beta", "b flu"], "prevalence": 0.1,
         "findings": {"fever": 0.2, "cough": 0.6}, "tests": {"swab": 0.5}},
    ],
    "findings": [
        {"key": "fever", "kind": "symptom", "phrases": ["fever", "temperature"], "question": "Any fever?",
         "present": "Yes, I'm hot.", "absent": "No fever.", "default": 0.1, "complaint": "a fever"},
        {"key": "cough", "kind": "symptom", "phrases": ["cough"], "question": "Do you cough?",
         "present": "Yes, I cough.", "absent": "No cough.", "default": 0.3, "complaint": "a cough"},
    ],
    "tests": [
        {"key": "swab", "name": "swab test", "aliases": ["swab"], "cost": 0.1, "positive": "Swab: positive.",
         "negative": "Swab: negative.", "default": 0.05},
    ],
}


@pytest.fixture
def tiny() -> dict:
    """A fresh deep copy of :data:`TINY` to edit."""
    return copy.deepcopy(TINY)
