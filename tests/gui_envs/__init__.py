"""Tests of the GUI family (envs/gui), against a real Chromium."""
