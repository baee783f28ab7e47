"""Tests of the MiniWoB++ environments (envs/web/miniwob), against a real Chromium."""
