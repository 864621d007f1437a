"""The checks of tests/configs/paper_configs.py assert: pytest rewrites their asserts as in a test module."""

import pytest

pytest.register_assert_rewrite("tests.configs.paper_configs")
