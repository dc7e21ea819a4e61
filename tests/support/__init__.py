"""Helpers shared by the tests: tiny dump dirs, a tiny trained system, repository paths."""
