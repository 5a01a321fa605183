"""Assign named variables or parameters to rules: shared by the Keras and PyTorch helpers.

A rule key claims a name when the key is the whole name, names a layer or module on the
name's path, or is a regular expression that matches the whole name (``re.fullmatch``).
No framework is imported here.

Introduced in ``notebooks/03_per_variable_learning_rates.ipynb``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping


def rule_matches(key: str, name: str, *, separator: str, anywhere: bool) -> bool:
    """Whether rule ``key`` claims the variable or parameter called ``name``.

    Args:
        key: the rule: a layer or module name, a whole name, or a regular expression.
        name: a Keras variable path (``"sequential/dense/kernel"``) or a PyTorch parameter
            name (``"layer1.0.weight"``).
        separator: ``"/"`` for Keras paths, ``"."`` for PyTorch names.
        anywhere: Keras paths start with the model's name for a ``Sequential`` model, so a
            layer name may sit anywhere on the path (``True``); a PyTorch module name is
            always a prefix of its parameters' names (``False``).

    Example:
        >>> rule_matches("dense", "sequential/dense/kernel", separator="/", anywhere=True)
        True
        >>> rule_matches("dense/.*", "sequential/dense/kernel", separator="/", anywhere=True)
        False
        >>> rule_matches("layer1", "layer1.0.weight", separator=".", anywhere=False)
        True
        >>> rule_matches("0", "layer1.0.weight", separator=".", anywhere=False)
        False
        >>> rule_matches(r".*\\.bias", "layer1.0.bias", separator=".", anywhere=False)
        True
    """
    if key == name:
        return True
    parts, owners = key.split(separator), name.split(separator)[:-1]
    starts = range(len(owners) - len(parts) + 1) if anywhere else range(1)
    if any(owners[i:i + len(parts)] == parts for i in starts):
        return True
    return re.fullmatch(key, name) is not None


def check_rule_keys(rules: object, *, argument: str = "rules") -> list[str]:
    """The keys of ``rules`` as a list, after checking each is a usable pattern.

    Raises:
        TypeError: when ``rules`` is not a mapping or a key is not a string.
        ValueError: when ``rules`` is empty or a key is empty or not a valid regular
            expression.

    Example:
        >>> check_rule_keys({"head": 1.0, "body": 0.1})
        ['head', 'body']
        >>> check_rule_keys({"(": 1.0})
        Traceback (most recent call last):
        ...
        ValueError: rule '(' in `rules` is neither a layer name nor a valid regular expression: ...
    """
    if not isinstance(rules, Mapping):
        raise TypeError(
            f"`{argument}` must be a dict mapping a name or pattern to its setting. "
            f"Received: {rules!r:.60} ({type(rules).__name__})"
        )
    if not rules:
        raise ValueError(f"`{argument}` must contain at least one rule. Received: {argument}={{}}")
    keys = list(rules)
    for key in keys:
        if not isinstance(key, str) or not key:
            raise TypeError(
                f"every key of `{argument}` must be a non-empty string (a name or a regular "
                f"expression). Received the key {key!r} ({type(key).__name__})"
            )
        try:
            re.compile(key)
        except re.error as error:
            raise ValueError(
                f"rule {key!r} in `{argument}` is neither a layer name nor a valid regular "
                f"expression: {error}"
            ) from None
    return keys


def assign(
    names: Iterable[str],
    keys: list[str],
    *,
    separator: str,
    anywhere: bool,
    what: str,
    argument: str = "rules",
    others: Iterable[str] = (),
    others_are: str = "not trainable",
) -> dict[str, str | None]:
    """Which rule claims each name: ``{name: key}``, ``None`` for a name no rule claims.

    Args:
        names: the names the rules may claim, in order.
        keys: the rule keys, in order.
        separator, anywhere: as in :func:`rule_matches`.
        what: how error messages call a name (``"trainable variable"``).
        argument: how error messages call the rules argument.
        others: names the rules may not claim (frozen parameters, non-trainable
            variables); a rule that matches only these is told so.
        others_are: what those names are, for that message.

    Raises:
        ValueError: naming each rule that matches nothing (and listing the names there
            are), or each name that two rules claim.

    Example:
        >>> assign(["a/kernel", "a/bias", "b/kernel"], ["a"], separator="/", anywhere=True,
        ...        what="variable")
        {'a/kernel': 'a', 'a/bias': 'a', 'b/kernel': None}
        >>> assign(["a/kernel"], ["a", "c"], separator="/", anywhere=True, what="variable")
        Traceback (most recent call last):
        ...
        ValueError: rule 'c' in `rules` matches no variable. The variables are: a/kernel. ...
    """
    names = list(names)
    claimed: dict[str, list[str]] = {name: [] for name in names}
    problems = []
    for key in keys:
        hits = [name for name in names if rule_matches(key, name, separator=separator,
                                                       anywhere=anywhere)]
        for name in hits:
            claimed[name].append(key)
        if not hits:
            elsewhere = [name for name in others
                         if rule_matches(key, name, separator=separator, anywhere=anywhere)]
            if elsewhere:
                problems.append(
                    f"rule {key!r} in `{argument}` matches only names that are "
                    f"{others_are}: {', '.join(elsewhere)}."
                )
            else:
                problems.append(
                    f"rule {key!r} in `{argument}` matches no {what}. The {what}s are: "
                    f"{', '.join(names) or '(none)'}. A rule is a layer name, a whole name, "
                    "or a regular expression matched against the whole name."
                )
    for name, keys_here in claimed.items():
        if len(keys_here) > 1:
            problems.append(
                f"{what} {name!r} is claimed by more than one rule: "
                f"{', '.join(map(repr, keys_here))}. Make the rules exclusive."
            )
    if problems:
        raise ValueError("\n".join(problems))
    return {name: (keys_here[0] if keys_here else None) for name, keys_here in claimed.items()}
