"""The model tests' helpers in tests/models/checks.py assert: pytest rewrites their asserts as in a test module."""

import pytest

pytest.register_assert_rewrite("tests.models.checks")
