"""Tests of the browser core (agentgym.browser), against a real Chromium."""
