"""domain.passwords.PasswordPolicy: length, not the username, not a commonly breached password."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.passwords import PasswordPolicy, common_passwords

POLICY = PasswordPolicy()


def test_a_long_uncommon_password_is_accepted() -> None:
    assert POLICY.problems("Meter-reading-at-dawn-47", username="jdoe") == []


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short-pw", "Use at least 12 characters (this one has 8)."),
        ("jdoe-the-admin", None),  # contains the username: allowed, it is not the username
        ("JDOE", "It must not be the same as the username."),
    ],
)
def test_length_and_username(password: str, expected: str | None) -> None:
    problems = POLICY.problems(password, username="jdoe")
    if expected is None:
        assert problems == []
    else:
        assert expected in problems


def test_the_username_itself_is_refused_even_when_long_enough() -> None:
    assert POLICY.problems("jonathan.doe.ops", username="Jonathan.Doe.Ops") == [
        "It must not be the same as the username."
    ]


@pytest.mark.parametrize(
    "password",
    ["password1234", "Password1234", "QWERTYUIOP123", "123456789012", "1qaz2wsx3edc", "iloveyou2024"],
)
def test_common_breached_passwords_are_refused_in_any_case(password: str) -> None:
    assert "It is one of the passwords most often used and leaked; choose another." in POLICY.problems(
        password
    )


def test_the_bundled_list_is_large_and_holds_the_classics() -> None:
    common = common_passwords()
    assert len(common) >= 3000
    assert {"123456", "password", "qwerty", "iloveyou", "letmein", "monkey", "dragon"} <= common
    assert sum(len(p) >= 12 for p in common) >= 1000  # the ones the length rule alone lets through
    assert all(p == p.lower() and p.strip() == p and not p.startswith("#") for p in common)


def test_the_minimum_length_is_a_setting() -> None:
    assert PasswordPolicy(min_length=16).problems("Meter-reading-47") == []
    assert PasswordPolicy(min_length=17).problems("Meter-reading-47") == [
        "Use at least 17 characters (this one has 16)."
    ]


def test_several_reasons_are_all_given() -> None:
    assert len(POLICY.problems("qwerty", username="qwerty")) == 3


@given(st.text(min_size=0, max_size=40), st.text(min_size=1, max_size=20))
def test_every_refusal_is_a_sentence_and_short_ones_are_always_refused(password: str, username: str) -> None:
    problems = POLICY.problems(password, username=username)
    assert all(p.endswith(".") and p[0].isupper() for p in problems)
    if len(password) < POLICY.min_length:
        assert problems
    if password.lower() == username.lower() and password.strip() == password:
        assert "It must not be the same as the username." in problems
